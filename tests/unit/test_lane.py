"""broker/ingest/lane.py: the steady lane changes exactly what the full path changes.

Two frame handlers, each with its own state and alert engine (default rules), get the same
random walk of frames and ticks: one through the full path only, the other as the core
loop feeds it (the lane first, the full path for what the lane declines). Their events,
republished frames, rejections, host records, alerts and digests must agree at every step.
"""

from __future__ import annotations

import math
import random
from typing import Any

from broker.alerting.engine import AlertEngine
from broker.ingest.handler import FrameHandler, Out
from broker.ingest.state import State
from core import protocol

T0 = 1_800_000_000.0
HOSTS = ("web-1", "web-2", "db-1")
BASE = {"cpu.percent": 20.0, "cpu.count": 4.0, "mem.percent": 40.0, "load.1": 1.0,
        "disk./.percent": 50.0, "net.eth0.errin_ps": 0.0, "swap.percent": 0.0}


def make() -> FrameHandler:
    return FrameHandler(State(), engine=AlertEngine(), host_timeout=10.0)


def via_lane(h: FrameHandler, parts: list[bytes], now: float) -> Out:
    done = h.lanes.take(parts[1], now) if len(parts) == 2 else None
    if done is None:
        return h.ingest(parts, now)
    topic, events = done
    frame = protocol.unpack(parts[1])
    assert topic == protocol.topic_for(frame)
    return [("forward", (frame, parts[1]))] + [("emit", e) for e in events]


def plain(out: Out) -> list[Any]:
    """Out without what differs between two runs by design (event ids)."""
    res = []
    for what, item in out:
        if what == "emit":
            res.append((what, {k: v for k, v in item.items() if k != "id"}))
        elif what == "forward":
            res.append((what, item[1]))
        else:
            res.append((what, item))
    return res


def picture(h: FrameHandler, now: float) -> Any:
    hosts = {n: (hs.to_dict(history=True), hs.labels, hs.info)
             for n, hs in h.state.hosts.items()}
    alerts = sorted((a["rule"], a["host"], a.get("metric"), a["state"], a["severity"])
                    for a in h.engine.alerts(now)) if h.engine else []
    digest = h.digest(now)
    # each host's latest (agent, boot, seq): what a tick-driven alert's episode id is made of
    origin = dict(h.engine.book.origin) if h.engine else {}
    return (hosts, alerts, h.frames, dict(h.rejected), h.state.total_series, digest, origin)


def frames_of(rng: random.Random, ids: dict[str, list[Any]], now: float) -> list[bytes]:
    host = rng.choice(HOSTS)
    agent, boot, seq = ids[host]
    roll = rng.random()
    metrics: dict[str, Any] = {k: v + rng.uniform(-2, 2) for k, v in BASE.items()}
    extra: dict[str, Any] = {}
    ts = now
    if roll < 0.05:
        seq = max(0, seq + rng.choice((3, 2_000_000, -2_000_000, -1, -2, 0)))  # gaps, jumps
    elif roll < 0.08:
        boot = f"b{rng.randrange(3)}"  # a restart (or the same boot again)
    elif roll < 0.10:
        metrics["cpu.percent"] = math.nan
    elif roll < 0.13:
        metrics[f"disk./d{rng.randrange(3)}.percent"] = 10.0  # a new name
    elif roll < 0.15:
        del metrics["mem.percent"]
    elif roll < 0.17:
        metrics = dict(reversed(list(metrics.items())))  # same names, other order
    elif roll < 0.19:
        extra["labels"] = {"role": rng.choice(("web", "db"))}
    elif roll < 0.21:
        metrics["cpu.percent"] = 99.0  # over the thresholds
    elif roll < 0.23:
        ts = now + 3600  # too far ahead: refused
    elif roll < 0.25:
        metrics["mem.percent"] = True  # not a number
    elif roll < 0.27:
        frame = protocol.hello_frame(host, agent, boot, seq + 1, now, {"os": "linux"})
        ids[host] = [agent, boot, seq + 1]
        return protocol.encode(frame)
    elif roll < 0.28:
        frame = protocol.goodbye_frame(host, agent, boot, seq + 1, now)
        ids[host] = [agent, boot, seq + 1]
        return protocol.encode(frame)
    elif roll < 0.30:
        metrics["load.1"] = 30.0  # per core over the threshold
    elif roll < 0.31:
        metrics["mem.percent"] = rng.choice(("high", None))  # no number
    elif roll < 0.32:
        metrics["cpu.count"] = 4  # an int
    seq += 1
    ids[host] = [agent, boot, seq]
    frame = protocol.metrics_frame(host, agent, boot, seq, ts, metrics)
    frame.update(extra)
    if 0.32 <= roll < 0.35:  # the same fields in another order (another encoder)
        frame = dict(reversed(list(frame.items())))
    return protocol.encode(frame)


def test_the_lane_agrees_with_the_full_path_on_a_random_walk() -> None:
    full, lane = make(), make()
    rng = random.Random(17)
    ids = {h: [f"a-{h}", "b0", 0] for h in HOSTS}
    now = T0
    for step in range(3000):
        r = rng.random()
        if r < 0.01:
            now += 12.0  # past host_timeout: hosts go down at the tick
        elif r < 0.012:
            host = rng.choice(HOSTS)
            try:
                out_f = full.forget(host, now, "test")
            except KeyError:
                out_f = None
            try:
                out_l = lane.forget(host, now, "test")
            except KeyError:
                out_l = None
            assert (out_f is None) == (out_l is None)
            if out_f is not None and out_l is not None:
                assert plain(out_f) == plain(out_l)
        now += rng.choice((0.0, 0.01, 0.3))
        if step % 25 == 0:
            assert plain(full.tick(now)) == plain(lane.tick(now)), step
        parts = frames_of(rng, ids, now)
        assert plain(full.ingest(parts, now)) == plain(via_lane(lane, parts, now)), step
        assert picture(full, now) == picture(lane, now), step
    assert lane.lanes.taken > 1000  # the lane did take most frames
    assert full.lanes.taken == 0
    assert sum(full.rejected.values()) > 50  # and the walk did meet bad frames


def test_a_forgotten_host_comes_back_new_not_through_its_old_lane() -> None:
    h = make()
    for seq in range(3):
        via_lane(h, protocol.encode(protocol.metrics_frame("web-1", "a", "b", seq, T0 + seq,
                                                           BASE)), T0 + seq)
    assert h.lanes.taken == 2
    h.forget("web-1", T0 + 3, "test")
    out = via_lane(h, protocol.encode(protocol.metrics_frame("web-1", "a", "b", 3, T0 + 3,
                                                             BASE)), T0 + 3)
    assert "host.up" in [x["kind"] for what, x in out if what == "emit"]
    assert h.lanes.taken == 2 and h.state.hosts["web-1"].first_seen == T0 + 3


def test_an_int_stays_an_int_through_the_lane() -> None:
    h = make()
    for seq in range(3):
        via_lane(h, protocol.encode(protocol.metrics_frame(
            "web-1", "a", "b", seq, T0 + seq, {**BASE, "cpu.count": 4})), T0 + seq)
    assert h.lanes.taken == 2
    value = h.state.hosts["web-1"].metrics["cpu.count"]
    assert value == 4 and type(value) is int
