"""The TUI's client against a fake broker on loopback: Clone pattern, resync, reconnect."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import zmq

from core import protocol
from tests.procs import wait_for
from tui.messages import ConnectionState, FleetChanges, Reply, Snapshot
from tui.sources.live import LiveSource

pytestmark = pytest.mark.integration


class FakeBroker:
    """ROUTER + PUB in one thread; publishes a metrics frame per tick whose cpu is its pseq."""

    def __init__(self, control: str = "tcp://127.0.0.1:*", publish: str = "tcp://127.0.0.1:*",
                 gap_at: int | None = None, extra_hosts: int = 0) -> None:
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.pub = self.ctx.socket(zmq.PUB)
        for sock in (self.router, self.pub):
            sock.setsockopt(zmq.LINGER, 0)
        self.router.bind(control)
        self.pub.bind(publish)
        self.control = self.router.getsockopt_string(zmq.LAST_ENDPOINT)
        self.publish = self.pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self.pseq = 0
        self.gap_at = gap_at
        self.extra = [{"host": f"n{i:04d}", "status": "up", "last_seen": time.time(),
                       "metrics": {f"m.{j}": float(j) for j in range(20)},
                       "history": {"cpu.percent": [1.0] * 60}} for i in range(extra_hosts)]
        self.ops: list[str] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        while not self.stop_event.is_set():
            if poller.poll(5):
                ident, payload = self.router.recv_multipart()
                req_id, op, args = protocol.parse_request(payload)
                self.ops.append(op)
                self.router.send_multipart([ident, self.answer(req_id, op, args)])
            self.pseq += 1
            if self.pseq == self.gap_at:
                self.pseq += 5  # frames lost on the way
            frame = protocol.metrics_frame("h1", "a", "b", self.pseq, time.time(),
                                           {"cpu.percent": float(self.pseq)})
            frame["pseq"] = self.pseq
            self.pub.send_multipart(protocol.encode(frame))
        self.router.close(linger=0)
        self.pub.close(linger=0)
        self.ctx.term()

    def answer(self, req_id: str, op: str, args: dict[str, Any]) -> bytes:
        if op == "snapshot":
            return protocol.reply_ok(req_id, {
                "pseq": self.pseq, "ts": time.time(), "broker": {"ingest": {"rate": 1.0}},
                "hosts": [{"host": "h1", "status": "up", "last_seen": time.time(),
                           "metrics": {"cpu.percent": float(self.pseq)}, "history": {}},
                          *self.extra],
                "alerts": [], "events": []})
        if op == "status":
            return protocol.reply_ok(req_id, {"ingest": {"rate": 1.0}})
        if op == "search":
            return protocol.reply_ok(req_id, [{"id": "e1", "message": args.get("query")}])
        return protocol.reply_error(req_id, f"unknown op '{op}'")

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(5)


class Recorder:
    """Stands in for the App: the client's only call into the UI is post_message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def post_message(self, message: Any) -> bool:
        self.messages.append(message)
        return True

    def of(self, kind: type) -> list[Any]:
        return [m for m in list(self.messages) if isinstance(m, kind)]

    def cpu(self) -> list[float]:
        """h1's cpu in each batch the session posted that had its metrics."""
        return [m.batch.metrics["h1"][1]["cpu.percent"] for m in self.of(FleetChanges)
                if "h1" in m.batch.metrics]

    def states(self) -> list[str]:
        return [m.state for m in self.of(ConnectionState)]


@pytest.fixture
def follow():
    started: list[tuple[LiveSource, threading.Thread]] = []

    def start(control: str, publish: str, timeout: float = 0.5) -> tuple[LiveSource, Recorder]:
        source = LiveSource({"b": (control, publish)}, timeout=timeout, heartbeat=0.05)
        app = Recorder()
        source.app = app  # type: ignore[assignment]
        thread = threading.Thread(target=source.links["b"].run, daemon=True)
        thread.start()
        started.append((source, thread))
        return source, app

    yield start
    for source, thread in started:
        source.stop()
        thread.join(5)


def test_clone_pattern_applies_only_frames_after_the_snapshot(follow) -> None:
    broker = FakeBroker()
    try:
        _, app = follow(broker.control, broker.publish)
        snap = wait_for(lambda: app.of(Snapshot), what="snapshot")[0]
        wait_for(lambda: len(app.cpu()) >= 5, what="live updates")
        values = app.cpu()
        assert min(values) > snap.snapshot["pseq"]
        assert values == sorted(values)
        assert "connected" in app.states()
    finally:
        broker.stop()


def test_a_snapshot_of_a_big_fleet_is_over_the_frame_cap_and_still_read(follow) -> None:
    broker = FakeBroker(extra_hosts=1500)
    try:
        _, app = follow(broker.control, broker.publish, timeout=3)
        snap = wait_for(lambda: app.of(Snapshot), what="snapshot")[0].snapshot
        assert len(protocol.pack(snap)) > protocol.MAX_FRAME_BYTES
        assert len(snap["hosts"]) == 1501
    finally:
        broker.stop()


def test_a_gap_in_pseq_triggers_a_fresh_snapshot(follow) -> None:
    broker = FakeBroker(gap_at=60)
    try:
        source, app = follow(broker.control, broker.publish)
        wait_for(lambda: len(app.of(Snapshot)) >= 2, what="resync snapshot")
        assert source.links["b"].resyncs >= 1
    finally:
        broker.stop()


def test_requests_from_the_ui_get_replies(follow) -> None:
    broker = FakeBroker()
    try:
        source, app = follow(broker.control, broker.publish)
        wait_for(lambda: app.of(Snapshot), what="snapshot")
        req_id = source.request("search", {"query": "host:h1", "limit": 5})
        reply = wait_for(lambda: [r for r in app.of(Reply) if r.req_id == req_id], what="reply")[0]
        assert reply.ok and reply.result == [{"id": "e1", "message": "host:h1"}]
        bad = source.request("nope", {})
        reply = wait_for(lambda: [r for r in app.of(Reply) if r.req_id == bad], what="error")[0]
        assert not reply.ok and "unknown op" in reply.error
    finally:
        broker.stop()


def test_lost_broker_means_reconnecting_then_resync_from_a_fresh_snapshot(follow) -> None:
    broker = FakeBroker()
    _, app = follow(broker.control, broker.publish)
    wait_for(lambda: app.of(Snapshot), what="first snapshot")
    control, publish = broker.control, broker.publish
    broker.stop()
    wait_for(lambda: "reconnecting" in app.states(), what="reconnecting")
    broker = FakeBroker(control, publish)  # the broker comes back on the same endpoints
    try:
        wait_for(lambda: len(app.of(Snapshot)) >= 2, timeout=10, what="resync")
        # the snapshot can land a moment before the link posts its state
        wait_for(lambda: app.states()[-1] == "connected", timeout=5, what="connected")
        assert app.states()[-1] == "connected"
    finally:
        broker.stop()


def test_unreachable_broker_is_reported_after_the_timeout(follow) -> None:
    ctx = zmq.Context()
    probe = ctx.socket(zmq.ROUTER)
    port = probe.bind_to_random_port("tcp://127.0.0.1")
    probe.close(linger=0)
    ctx.term()
    control = f"tcp://127.0.0.1:{port}"
    _, app = follow(control, f"tcp://127.0.0.1:{port}", timeout=0.3)
    state = wait_for(lambda: [m for m in app.of(ConnectionState) if m.state == "unreachable"],
                     what="unreachable")[0]
    assert state.detail == f"cannot reach broker at {control} (no reply in 0.3 s)"


def test_a_quick_broker_restart_is_caught_by_its_sequence_going_back(follow) -> None:
    broker = FakeBroker()
    # a long silence timeout: only the pseq going back can reveal this restart
    source, app = follow(broker.control, broker.publish, timeout=30)
    wait_for(lambda: app.of(Snapshot), what="first snapshot")
    wait_for(lambda: broker.pseq > 300, what="the counter to climb")
    control, publish = broker.control, broker.publish
    broker.stop()
    old_pseq = broker.pseq
    broker = FakeBroker(control, publish)  # counts from 0 again
    try:
        wait_for(lambda: len(app.of(Snapshot)) >= 2, timeout=10, what="resync after restart")
        assert "reconnecting" not in app.states()
        # resynced before the new counter overtook the old one: not a mere gap
        assert app.of(Snapshot)[1].snapshot["pseq"] < old_pseq
        latest = app.cpu()[-1]
        wait_for(lambda: app.cpu()[-1] != latest,
                 what="live updates from the new broker")
    finally:
        broker.stop()


async def test_two_brokers_show_each_host_once() -> None:
    from tests.snapshots.frozen_app import until
    from tui.app import MonitorApp
    from tui.widgets.host_table import HostTable

    b1, b2 = FakeBroker(extra_hosts=2), FakeBroker(extra_hosts=3)
    try:
        app = MonitorApp(LiveSource({"b1": (b1.control, b1.publish),
                                     "b2": (b2.control, b2.publish)}), refresh_s=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.connections == {"b1": "connected",
                                                           "b2": "connected"}, what="both")
            table = app.screen.query_one(HostTable)
            await until(pilot, lambda: table.row_count == 4, what="merged rows")
            assert set(app.model.hosts) == {"h1", "n0000", "n0001", "n0002"}
            assert app.model.hosts["h1"].sources == {"b1", "b2"}
            summary = str(app.screen.query_one("#summary").render())
            assert "connected 2/2" in summary
    finally:
        b1.stop()
        b2.stop()
