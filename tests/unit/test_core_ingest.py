"""The core loop's ingest and tick logic, driven directly on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker.bus import EventBus
from broker.ingest.loop import BrokerCore
from core import protocol
from core.clock import FakeClock


@pytest.fixture
def core(tmp_path: Path) -> Iterator[BrokerCore]:
    clock = FakeClock()
    eps = {k: f"ipc://{tmp_path}/{k}" for k in ("ingest", "publish", "control")}
    bus = EventBus(clock)
    seen: list[dict[str, Any]] = []
    bus.emit = seen.append  # type: ignore[method-assign]  # record what reaches the bus
    c = BrokerCore(eps, bus, clock=clock, host_timeout=10)
    c.seen = seen  # type: ignore[attr-defined]
    yield c
    c.close()


def frame(core: BrokerCore, host: str = "web-1", seq: int = 0, boot: str = "b1",
          **metrics: float) -> list[bytes]:
    return protocol.encode(protocol.metrics_frame(host, "a-" + host, boot, seq,
                                                  core.clock.time(),
                                                  metrics or {"cpu.percent": 5.0}))


def kinds(core: BrokerCore) -> list[str]:
    return [e["kind"] for e in core.seen]  # type: ignore[attr-defined]


def test_new_host_gap_restart_and_down(core: BrokerCore) -> None:
    clock: FakeClock = core.clock  # type: ignore[assignment]
    core.ingest(frame(core, seq=0))
    assert kinds(core) == ["host.up"]
    core.ingest(frame(core, seq=1))
    core.ingest(frame(core, seq=5))  # 3 frames lost on the way
    hs = core.state.hosts["web-1"]
    assert hs.gaps == 3 and hs.seq == 5
    core.ingest(frame(core, seq=0, boot="b2"))  # the agent restarted
    assert hs.restarts == 1 and kinds(core)[-1] == "host.restart"
    clock.advance(11)
    core.tick()
    assert hs.status == "down" and kinds(core)[-1] == "host.down"
    core.tick()  # reported once, not every second
    assert kinds(core).count("host.down") == 1
    core.ingest(frame(core, seq=1, boot="b2"))
    assert hs.status == "up" and kinds(core)[-1] == "host.up"


def test_history_is_bounded_and_latest_wins(core: BrokerCore) -> None:
    for i in range(300):
        core.ingest(frame(core, seq=i, **{"cpu.percent": float(i)}))
    hs = core.state.hosts["web-1"]
    assert hs.metrics["cpu.percent"] == 299.0
    series = hs.history.series("cpu.percent")
    assert len(series) == core.state.history_len
    assert series[-1] == 299.0 and series[0] == 300.0 - core.state.history_len


def test_host_and_series_limits_reject_without_changing_state(core: BrokerCore) -> None:
    core.state.max_hosts = 2
    core.state.max_series = 3
    core.ingest(frame(core, "a"))
    core.ingest(frame(core, "b"))
    core.ingest(frame(core, "c"))
    assert sorted(core.state.hosts) == ["a", "b"]
    core.ingest(frame(core, "a", 1, **{"m1": 1.0, "m2": 2.0, "m3": 3.0}))
    assert "m1" not in core.state.hosts["a"].metrics
    reasons = " ".join(core.rejected)
    assert "host limit reached" in reasons and "series limit reached" in reasons


def test_rejection_events_are_rate_limited_but_all_counted(core: BrokerCore) -> None:
    for _ in range(100):
        core.ingest([b"m.x", b"\xc1"])
    assert sum(core.rejected.values()) == 100
    rejected_events = [e for e in core.seen if e["kind"] == "ingest.rejected"]  # type: ignore
    assert len(rejected_events) == 10
    core.clock.advance(1)  # type: ignore[attr-defined]
    core.ingest([b"m.x", b"\xc1"])
    last = [e for e in core.seen if e["kind"] == "ingest.rejected"][-1]  # type: ignore
    assert last["data"]["suppressed"] == 90


def test_broker_frames_are_not_accepted_on_ingest(core: BrokerCore) -> None:
    forged = protocol.encode(protocol.alert_frame({"host": "x", "severity": "critical"},
                                                  core.clock.time()))
    core.ingest(forged)
    assert any("not accepted on ingest" in r for r in core.rejected)
    assert not core.state.hosts


def test_log_frames_become_log_events(core: BrokerCore) -> None:
    parts = protocol.encode(protocol.log_frame("web-1", "a", "b", 0, core.clock.time(),
                                               source="/var/log/app.log", level="ERROR",
                                               message="db timeout"))
    core.ingest(parts)
    log = [e for e in core.seen if e["kind"] == "log"][0]  # type: ignore[attr-defined]
    assert log["severity"] == "warning" and log["message"] == "db timeout"
    assert log["data"]["source"] == "/var/log/app.log" and log["data"]["level"] == "error"


def test_fleet_wide_frames_carry_nseq_and_metrics_are_forwarded_as_received(
        core: BrokerCore) -> None:
    """A console following a few hosts sees every nseq: only alerts, events, log lines and
    the digest are numbered; a metrics frame goes out as its own bytes plus pseq."""
    import zmq

    from core.protocol import FLEET_TOPICS

    sub = core.ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(core.endpoints["publish"])
    try:
        got: list[list[bytes]] = []
        for _ in range(200):  # the slow joiner: tick (a digest) until one arrives
            core.drain_subscriptions()  # the digest goes out once b"" is known
            core.tick()
            if sub.poll(20):
                break
        while sub.poll(20):
            sub.recv_multipart()
        core.drain_subscriptions()  # the loop (not running here) would: b"" wants metrics
        assert core.wanted.wide
        sent = frame(core, "web-1", **{"cpu.percent": 3.0})
        core.ingest(sent)  # host.up event + host frame + the metrics frame
        core.tick()
        while sub.poll(200):
            got.append(sub.recv_multipart())
    finally:
        sub.close(0)
    decoded = [(t, protocol.unpack(p)) for t, p in got]
    metrics = [(t, p, f) for (t, f), (_, p) in zip(decoded, got, strict=True)
               if f["kind"] == "metrics"]
    assert len(metrics) == 1
    topic, payload, f = metrics[0]
    assert topic == b"m.web-1\0" and "nseq" not in f
    assert payload == protocol.with_pseq(sent[1], f["pseq"])  # the agent's bytes, spliced
    fleet_wide = [f["nseq"] for t, f in decoded if t.startswith(FLEET_TOPICS)]
    assert fleet_wide and fleet_wide == list(range(fleet_wide[0], fleet_wide[0] + len(fleet_wide)))
    assert all("nseq" not in f for t, f in decoded if not t.startswith(FLEET_TOPICS))
    assert any(f["kind"] == "host" for _, f in decoded)  # an h. frame, not numbered
    pseqs = [f["pseq"] for _, f in decoded]
    assert pseqs == sorted(pseqs) and len(set(pseqs)) == len(pseqs)


def test_silence_is_judged_at_the_last_moment_every_frame_was_read(core: BrokerCore) -> None:
    """A broker working through a backlog (10,000 hosts joining at once) must not call
    hosts down whose frames wait unread in its own socket."""
    import zmq

    from tests.procs import wait_for

    clock: FakeClock = core.clock  # type: ignore[assignment]
    core.ingest(frame(core, "web-1"))
    core.ingest(frame(core, "web-2"))
    core.handler.caught_up = clock.time()  # the loop read everything, then fell behind
    clock.advance(11)
    core.tick()
    assert core.state.hosts["web-1"].status == "up" and "host.down" not in kinds(core)
    assert core.handler.behind(clock.time()) == 11
    pub = core.ctx.socket(zmq.PUB)
    pub.connect(core.endpoints["ingest"])
    try:
        def read_web2() -> bool:
            pub.send_multipart(frame(core, "web-2", seq=1))
            core._drain_ingest()
            return core.state.hosts["web-2"].seq == 1
        wait_for(read_web2, 5, "web-2's frame through the socket")
        core._drain_ingest()  # the socket is empty now: caught up
    finally:
        pub.close(linger=0)
    assert core.handler.behind(clock.time()) == 0
    core.tick()  # web-1 sent nothing while everything was read: silent for real
    assert core.state.hosts["web-1"].status == "down"
    assert core.state.hosts["web-2"].status == "up"
    assert core.seen[-1]["message"] == "host web-1 silent for 11s"  # type: ignore[attr-defined]


def test_a_broker_behind_for_over_a_minute_judges_at_now(core: BrokerCore) -> None:
    from broker.ingest.handler import BEHIND_LIMIT

    clock: FakeClock = core.clock  # type: ignore[assignment]
    core.ingest(frame(core, "web-1"))
    core.handler.caught_up = clock.time()
    clock.advance(BEHIND_LIMIT - 1)
    core.tick()
    assert core.state.hosts["web-1"].status == "up"
    clock.advance(10 + 2)  # behind 61 s: judged at now - 60, web-1 silent 11 s by then
    core.tick()
    assert core.state.hosts["web-1"].status == "down"


def test_a_received_batch_keeps_the_order_of_messages_of_any_shape(core: BrokerCore) -> None:
    """broker/ingest/receive.py: two-part messages and others in one batch, each handled
    in the order received (the others rejected, the frames between them applied)."""
    import zmq

    from tests.procs import wait_for

    pub = core.ctx.socket(zmq.PUB)
    pub.connect(core.endpoints["ingest"])
    try:  # the slow joiner: probes until one gets through
        wait_for(lambda: pub.send_multipart(frame(core, "probe")) or core._drain_ingest()
                 or core.frames > 0, 5, "the PUB connected")
        batch = [frame(core, seq=1, **{"cpu.percent": 1.0}), [b"one part"],
                 frame(core, seq=2, **{"cpu.percent": 2.0}),
                 [*frame(core, seq=9), b"a third part"],
                 frame(core, seq=3, **{"cpu.percent": 3.0}), [b"m.x", b"\xc1"]]
        before, rejected = core.frames, sum(core.rejected.values())
        for parts in batch:
            pub.send_multipart(parts)
        wait_for(lambda: core._drain_ingest() or core.frames >= before + len(batch), 5,
                 "the batch read")
    finally:
        pub.close(linger=0)
    hs = core.state.hosts["web-1"]
    assert hs.seq == 3 and hs.metrics["cpu.percent"] == 3.0
    assert list(hs.history.series("cpu.percent")) == [1.0, 2.0, 3.0]
    assert sum(core.rejected.values()) - rejected == 3
    reasons = [e["data"]["reason"] for e in core.seen  # type: ignore[attr-defined]
               if e["kind"] == "ingest.rejected"]
    assert "message parts" in reasons[-3] and "message parts" in reasons[-2]
    assert "msgpack" in reasons[-1]
