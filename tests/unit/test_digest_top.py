"""The digest's top lists and columns against a brute-force build: every host's figures
from its latest values, every index sorted by (-value, index), on a fake clock. Ties (many
hosts at one value, the alerts column's fleet at 0), NaN (unknown), ints next to equal
floats, fewer known values than the top's length, hosts coming and going between builds."""

from __future__ import annotations

import math
import random
from array import array
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from broker.ingest.digest import DigestBuilder, top_indices, top_names
from broker.ingest.handler import FrameHandler
from broker.ingest.state import State
from core import digest as fleet
from core import protocol
from core.clock import FakeClock


def brute_top(col: Any, names: list[str], n: int) -> list[str]:
    known = [i for i, v in enumerate(col) if v == v]
    return [names[i] for i in sorted(known, key=lambda i: (-col[i], i))[:n]]


values = st.one_of(st.sampled_from([0.0, 1.0, 1, 2.5, 70.0, 70, math.nan]),
                   st.floats(-1e6, 1e6, allow_nan=False), st.integers(-5, 5))


@given(col=st.lists(values, max_size=60), n=st.integers(0, 30),
       hint=st.one_of(st.none(), values))
def test_top_names_equals_sorting_everything(col: list[float], n: int,
                                            hint: float | None) -> None:
    names = [f"h{i:03d}" for i in range(len(col))]
    assert top_names(col, names, n, hint) == brute_top(col, names, n)
    assert top_names(tuple(col), names, n, hint) == brute_top(col, names, n)


@given(cols=st.lists(st.lists(values, min_size=40, max_size=40), min_size=2, max_size=6))
def test_the_hint_of_one_second_serves_the_next(cols: list[list[float]]) -> None:
    """A column's hint carried from call to call, as the builder does: the same answers."""
    names = [f"h{i:03d}" for i in range(40)]
    hint = None
    for col in cols:
        places, hint = top_indices(col, 5, hint)
        assert [names[i] for i in places] == brute_top(col, names, 5)


def test_top_names_edges() -> None:
    names = [f"h{i}" for i in range(6)]
    assert top_names([0.0] * 6, names, 3) == ["h0", "h1", "h2"]  # all tied: name order
    assert top_names([0.0, 0.0, 2.0, 0.0, 1.0, 0.0], names, 3) == ["h2", "h4", "h0"]
    assert top_names([math.nan] * 6, names, 3) == []
    assert top_names([math.nan, 1.0, math.nan, 1, 3.0, math.nan], names, 25) == ["h4", "h1",
                                                                                 "h3"]
    assert top_names([math.inf, -math.inf, 1.0, 5.0, 5.0, 0.0], names, 4) == [
        "h0", "h3", "h4", "h2"]  # inf + -inf sums to NaN: filtered, same answer
    assert top_names([], [], 5) == [] and top_names([1.0], ["a"], 0) == []


def reference(state: State, alerts: dict[str, int], now: float, n: int) -> dict[str, Any]:
    """The digest built the slow, obvious way from the state itself."""
    names = sorted(state.hosts)
    cols: dict[str, list[float]] = {c: [] for c in fleet.COLUMNS}
    for name in names:
        hs = state.hosts[name]
        m = hs.metrics
        figs = fleet.figures(m, *fleet.feeds(m)) if m else (math.nan,) * 6
        for c, v in zip(fleet.COLUMNS[:6], figs, strict=True):
            cols[c].append(v)
        cols["alerts"].append(float(alerts.get(name, 0)))
        cols["age"].append(now - hs.last_seen)
    status = "".join(fleet.STATUS_LETTER.get(state.hosts[h].status, "?") for h in names)
    return {"ts": now, "hosts": names, "status": status,
            "figures": {c: array("f", col).tobytes() for c, col in cols.items()},
            "top": {c: brute_top(col, names, n) for c, col in cols.items()},
            "counts": {"total": len(names), "up": status.count("u"),
                       "down": status.count("d"), "stopped": status.count("s"),
                       "alerting": sum(1 for k in alerts.values() if k)}}


def metrics(rng: random.Random) -> dict[str, float]:
    """Few distinct values, so that ties are everywhere; sometimes a column's series are
    missing (NaN there), sometimes ints."""
    m: dict[str, float] = {"cpu.percent": rng.choice([5.0, 50.0, 50, 99.5]),
                           "mem.percent": rng.choice([10.0, 20.0]),
                           "load.1": float(rng.randint(0, 3))}
    disks = rng.choice([0, 1, 2, 2, 3])  # the plans unrolled for 1 and 2 disks, and not
    for d in ("/", "/var", "/home")[:disks]:
        m[f"disk.{d}.percent"] = rng.choice([70.0, 70, 80.0, 10.0, -0.0])
    if rng.random() < 0.7:
        for nic in ("eth0", "eth1")[:rng.choice([1, 1, 2])]:
            m[f"net.{nic}.rx_bps"] = m[f"net.{nic}.tx_bps"] = rng.choice([0.0, -0.0, 1e3, 7])
        m["net.lo.rx_bps"] = 1e9
    if rng.random() < 0.1:
        del m["cpu.percent"]
    return m


def test_builds_equal_the_brute_force_digest_as_hosts_come_and_go() -> None:
    rng = random.Random(17)
    clock = FakeClock()
    state = State(max_hosts=1000, probation=False)
    handler = FrameHandler(state, host_timeout=10)
    builder: DigestBuilder = handler.digests
    seqs: dict[str, int] = {}

    def send(host: str) -> None:
        seqs[host] = seqs.get(host, -1) + 1
        handler.ingest(protocol.encode(protocol.metrics_frame(
            host, "a-" + host, "b", seqs[host], clock.time(), metrics(rng))), clock.time())

    hosts = [f"h-{i}" for i in range(300)]
    for rounds in range(6):
        for host in hosts:
            if rng.random() < 0.9:  # some hosts miss a second: their age grows
                send(host)
            clock.advance(0.003)
        if rounds == 2:  # hosts leave and join between builds (the names change)
            for gone in hosts[:40]:
                handler.forget(gone, clock.time(), "test")
            hosts = hosts[40:] + [f"new-{i}" for i in range(25)]
        if rounds == 3:
            for host in hosts[100:110]:
                state.mark_down(host)
            builder.follow(False)  # nobody follows: the next build takes every host's
            send(hosts[0])
            builder.follow(True)
        alerts = {h: rng.choice([0, 1, 1, 3]) for h in rng.sample(hosts, 12)}
        if rounds == 4:
            alerts = {}
        now = clock.time()
        got = builder.build(state, alerts, now)
        assert got == reference(state, alerts, now, builder.top_n), f"round {rounds}"
    assert set(builder._figures) == set(state.hosts)  # figures of gone hosts dropped
