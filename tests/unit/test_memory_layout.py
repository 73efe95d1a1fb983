"""The broker's compact per-host and per-series layouts (docs/internals.md, "Memory"): the
flat alert window, rollups closed and written a chunk at a time, names shared by the fleet,
and the heap trim."""

from __future__ import annotations

import math
import random
import sqlite3
from collections import deque

import pytest

from broker import memtrim
from broker.alerting.engine import AlertEngine
from broker.alerting.evaluators import ThresholdSeries
from broker.alerting.windows import MAX_POINTS, Window, percentile
from broker.ingest.state import State
from broker.store import rollups as rollups_mod
from broker.store.columns import BLOCK, Columns
from broker.store.rollups import Rollups
from broker.store.schema import migrate
from core import protocol

M0 = 1_699_999_980.0  # a minute boundary


class DequeWindow:
    """The window as it was (deques of floats): the reference the flat one must match."""

    def __init__(self, span: float) -> None:
        self.span, self.ts, self.vs = span, deque[float](), deque[float]()

    def add(self, t: float, v: float) -> None:
        if len(self.ts) >= MAX_POINTS:
            self.ts.popleft()
            self.vs.popleft()
        self.ts.append(t)
        self.vs.append(v)
        while self.ts and self.ts[0] < t - self.span:
            self.ts.popleft()
            self.vs.popleft()


@pytest.mark.parametrize("span, step", [(120.0, 1.0), (10.0, 0.3), (1e9, 0.5)])
def test_flat_window_agrees_with_the_deque_window(span: float, step: float) -> None:
    rng = random.Random(7)
    flat, ref = Window(span), DequeWindow(span)
    t = 1000.0
    for i in range(MAX_POINTS + 600):  # past MAX_POINTS: the count cap drops points too
        t += step * (0.5 + rng.random()) if i % 97 else span / 2  # now and then a jump
        v = rng.uniform(-50, 50)
        flat.add(t, v)
        ref.add(t, v)
        assert len(flat) == len(ref.vs)
        if i % 13 == 0:
            vs = list(ref.vs)
            assert flat.agg("avg") == pytest.approx(sum(vs) / len(vs))
            assert flat.agg("max") == max(vs) and flat.agg("min") == min(vs)
            assert flat.agg("p95") == percentile(sorted(vs), 0.95)
            assert flat.agg("last") == vs[-1]
            want = None if len(vs) < 2 else (vs[-1] - vs[0]) / (ref.ts[-1] - ref.ts[0])
            assert flat.rate() == pytest.approx(want)
    assert len(flat.ts) <= 2 * len(flat) + 33  # the dead front is cut off


def test_closed_buckets_make_the_same_rows_as_before() -> None:
    a, b = Rollups(grace=0), Rollups(grace=0)
    for r in (a, b):
        for s in range(130):
            r.add("h1", {"cpu": float(s), "mem": 50.0 + s % 7}, M0 + s)
            r.add("h2", {"cpu": 2.0 * s}, M0 + s)
    rows = a.take_closed(M0 + 121)
    closed = b.take_closed_buckets(M0 + 121)
    assert rows and list(closed.rows()) == rows
    assert [row[:4] for row in rows[:2]] == [(60, "h1", "cpu", int(M0)),
                                            (60, "h1", "mem", int(M0))]
    assert not b.take_closed_buckets(M0 + 121)  # nothing more has closed


def test_persist_writes_a_lazy_stream_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollups_mod, "PERSIST_CHUNK", 7)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    r = Rollups(grace=0)
    for h in range(10):
        r.add(f"h{h}", {f"m{i}": float(h * i) for i in range(5)}, M0 + 1)
    closed = r.take_closed_buckets(M0 + 60)
    Rollups.persist(conn, closed.rows())  # 50 rows, 7 a chunk: 8 chunks
    assert conn.execute("SELECT count(*), sum(sum) FROM rollups WHERE step = 60"
                        ).fetchone() == (50, sum(h * i for h in range(10) for i in range(5)))
    r.put_back(list(closed.rows()))  # a failed write gives every row back
    assert r.history(conn, "h9", "m4", M0, M0 + 60)[0]["count"] == 2


def test_the_fleet_shares_one_copy_of_each_name() -> None:
    """Each frame unpacks into new strings; hosts must not keep their own copies."""
    state, engine = State(), AlertEngine()
    metrics = {"cpu.percent": 1.0, "disk./.percent": 2.0, "net.eth0.rx_bps": 3.0}
    for host in ("a", "b"):
        frame = protocol.unpack(protocol.pack(metrics))  # fresh strings, as ingest sees
        hs, _ = state.touch({"host": host, "agent": host, "boot": "x", "seq": 1, "ts": M0})
        state.apply_metrics(hs, frame, None, M0)
        engine.on_sample(host, protocol.unpack(protocol.pack(metrics)), None, M0)
    (ka, *_), (kb, *_) = state.hosts["a"].metrics, state.hosts["b"].metrics
    assert ka == kb == "cpu.percent" and ka is kb
    assert list(state.hosts["a"].metrics.values()) == [1.0, 2.0, 3.0]
    assert state.series_count() == 6
    ea, eb = engine.hosts["a"], engine.hosts["b"]
    assert ea.known is eb.known and ea.known == set(metrics)
    (na, sa), (nb, sb) = ea.watched[0], eb.watched[0]
    assert na is nb and sa[0].metric is sb[0].metric and sa[0] is not sb[0]
    ta, tb = sa[0], sb[0]
    assert isinstance(ta, ThresholdSeries) and isinstance(tb, ThresholdSeries)
    assert ta.levels is tb.levels  # one set of thresholds for every host


def test_a_host_without_processes_or_log_hits_holds_no_deques() -> None:
    state, engine = State(), AlertEngine()
    hs, _ = state.touch({"host": "a", "agent": "a", "boot": "x", "seq": 1, "ts": M0})
    assert hs.proc_history is None and hs.processes_view(history=True)["process_history"] == []
    engine.on_sample("a", {"cpu.percent": 1.0}, None, M0)
    (log_series, *_), = engine.hosts["a"].logs
    assert log_series.hits is None
    state.apply_processes(hs, [{"pid": 1, "name": "x", "cpu_percent": 5.0, "rss": 1}], M0)
    assert [p["ts"] for p in hs.processes_view(history=True)["process_history"]] == [M0]


def test_trimmer_trims_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def trim() -> bool:
        calls.append(1)
        return True

    monkeypatch.setattr(memtrim, "trim", trim)
    t = memtrim.Trimmer(every=10.0)
    for now in (100.0, 105.0, 109.9, 110.0, 115.0, 120.5):
        t.poll(now)
    assert len(calls) == 2 and t.trims == 2


def test_trim_runs_on_this_libc() -> None:
    if memtrim._TRIM is None:
        pytest.skip("no malloc_trim (not glibc)")
    assert memtrim.trim() is True


def test_hello_info_strings_are_shared_between_hosts() -> None:
    from broker.ingest.handler import FrameHandler

    h = FrameHandler(State())
    info = {"os": "Linux", "platform": "Linux-6.1.0-18-amd64-x86_64-with-glibc2.36",
            "cores": 2, "labels": {"team": "db"}}
    for host in ("a", "b"):
        frame = protocol.hello_frame(host, host, "boot", 1, M0, dict(info))
        h.ingest(protocol.encode(frame), M0)
    ia, ib = h.state.hosts["a"].info, h.state.hosts["b"].info
    assert ia == ib == info and h.state.hosts["a"].labels == {"team": "db"}
    assert ia["platform"] is ib["platform"]
    assert [k for k in ia if k == "platform"][0] is [k for k in ib if k == "platform"][0]


def test_a_fleet_of_buckets_folds_out_of_step_and_keeps_every_figure() -> None:
    """Buckets opened in the same second (a fleet's minute) fold at staggered rows, so the
    fleet's buffers hold about half a BLOCK a host at any time, not all BLOCK rows at once;
    and each bucket's min, max, sum and count are those of every sample, whatever its
    stagger (fast path, a slow-path frame in between, items read mid-buffer)."""
    rng = random.Random(3)
    names = [f"m{i}" for i in range(6)]
    fleet = [Columns() for _ in range(4 * BLOCK)]
    sent: list[list[dict[str, float]]] = [[] for _ in fleet]
    most = 0
    for row in range(3 * BLOCK + 5):
        for i, cols in enumerate(fleet):
            if row == 20 and i % 5 == 0:  # a frame with a name missing: the slow path
                m = {k: rng.uniform(-1e6, 1e6) for k in names[1:]}
            else:
                m = {k: rng.uniform(-1e6, 1e6) for k in names}
            cols.fold(m, 100)
            sent[i].append(m)
        most = max(most, sum(cols.rows for cols in fleet))
    # in step, every bucket would hold BLOCK rows at once (len(fleet) * BLOCK)
    assert most <= len(fleet) * (BLOCK + 1) // 2 + len(fleet)
    for cols, frames in zip(fleet, sent, strict=True):
        for name in names:
            vals = [m[name] for m in frames if name in m]
            mn, mx, sm, n = cols.item(name) or [0.0] * 4
            assert (mn, mx, n) == (min(vals), max(vals), len(vals))
            assert sm == pytest.approx(math.fsum(vals), rel=1e-12, abs=1e-6)


def per_name(into: Columns, other: Columns) -> Columns:
    """The merge as it was: one ``merge`` a series (the reference)."""
    for name, row in other.items():
        into.merge(name, row)
    return into


def test_merging_a_minute_into_its_hour_gives_the_rows_of_a_merge_per_series() -> None:
    """The whole-bucket merge (same names: C-level passes; into an empty bucket: a copy)
    leaves every series exactly as one ``merge`` per series did: same names, other
    names, a series absent from some frames, one whose samples were taken back out."""
    rng = random.Random(9)
    names = [f"m{i}" for i in range(8)]

    def bucket(frames: int, drop: int = -1) -> Columns:
        c = Columns()
        for f in range(frames):
            c.fold({k: rng.uniform(-1e3, 1e3) for i, k in enumerate(names)
                    if not (i == drop and f % 3 == 0)}, 100)
        return c

    for case in range(40):
        minute = bucket(rng.randrange(1, 40), drop=case % 8)
        if case % 5 == 0:
            minute.subtract(names[case % 8], 10.0, 1)
        if case % 4 == 0:
            minute.fold({"late": 1.0, **{k: 2.0 for k in names}}, 100)  # a new name
        hour_a, hour_b = (bucket(rng.randrange(0, 30)), None) if case % 3 else (Columns(), None)
        hour_b = Columns()
        hour_b.merge_all(hour_a)  # an equal copy to merge the reference into
        assert list(hour_b.items()) == list(hour_a.items())
        hour_a.merge_all(minute)
        per_name(hour_b, minute)
        assert list(hour_a.items()) == list(hour_b.items())
        assert hour_a.keys == hour_b.keys
    # a second minute merged into the same hour (the fast path over filled columns)
    first, second = bucket(30), bucket(25)
    fast, ref = Columns(), Columns()
    fast.merge_all(first)
    fast.merge_all(second)
    per_name(per_name(ref, first), second)
    assert list(fast.items()) == list(ref.items())
    assert fast.item("m3") is not None and fast.item("m3")[3] == 55  # type: ignore[index]
