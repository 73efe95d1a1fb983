"""The in-process MonitoringSystem (the embedded default) over real loopback sockets."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from broker.system import MonitoringSystem
from core import protocol
from core.client import ControlClient, ControlError
from tests.procs import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def system(tmp_path: Path) -> Any:
    ms = MonitoringSystem(tmp_path, local_agent=True, interval=0.2).start()
    yield ms
    ms.stop()


def test_embedded_default_shows_this_host_live(system: MonitoringSystem) -> None:
    with ControlClient(system.endpoints["control"]) as c:
        # rates (cpu, net, disk io) need two readings: they appear with the second sample
        hosts = wait_for(lambda: [h for h in c.request("hosts")
                                  if "cpu.percent" in h["metrics"]
                                  and any(k.startswith("net.") for k in h["metrics"])],
                         timeout=2, what="this host with cpu and network rates")
        assert hosts[0]["host"] == socket.gethostname()
        for prefix in ("cpu.", "mem.", "disk.", "net.", "load."):
            assert any(k.startswith(prefix) for k in hosts[0]["metrics"]), prefix
        first = hosts[0]["last_seen"]
        wait_for(lambda: c.request("hosts")[0]["last_seen"] > first, timeout=2,
                 what="the gauges to move")


def test_clone_pattern_snapshot_then_stream(system: MonitoringSystem) -> None:
    """Subscribe, snapshot, then apply only frames after the snapshot's pseq: no gap."""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"m.")
    sub.connect(system.endpoints["publish"])
    try:
        with ControlClient(system.endpoints["control"]) as c:
            wait_for(lambda: sub.poll(50), timeout=5, what="subscription live")
            snap = c.request("snapshot")
            assert snap["hosts"] and "history" in snap["hosts"][0]
            later: list[dict[str, Any]] = []

            def collect() -> bool:
                while sub.poll(10):
                    frame = protocol.decode(sub.recv_multipart())
                    if frame["pseq"] > snap["pseq"]:
                        later.append(frame)
                return len(later) >= 3
            wait_for(collect, timeout=5, what="frames after the snapshot")
            pseqs = [f["pseq"] for f in later]
            assert pseqs == sorted(pseqs) and pseqs[0] > snap["pseq"]
            assert all(f["kind"] == "metrics" for f in later)
    finally:
        sub.close(0)
        ctx.term()


def test_control_errors_are_readable_and_nothing_breaks(system: MonitoringSystem) -> None:
    with ControlClient(system.endpoints["control"]) as c:
        with pytest.raises(ControlError, match="unknown op 'nope'"):
            c.request("nope")
        with pytest.raises(ControlError, match="'limit' must be an integer"):
            c.request("search", query="x", limit="ten")
        with pytest.raises(ControlError, match="missing or empty 'alert_id'"):
            c.request("ack")
        sync = c.request("sync")
        # no peers: nothing to exchange, and it says how to pair
        assert sync["peers"] == [] and sync["differences"] == 0
        assert "--peer" in sync["message"]
        assert c.request("status")["control"]["errors"] >= 3


def test_raw_garbage_on_control_socket_gets_an_error_reply(system: MonitoringSystem) -> None:
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(system.endpoints["control"])
    try:
        dealer.send(b"\xc1\xc1not msgpack")
        assert dealer.poll(3000)
        reply = protocol.unpack(dealer.recv())
        assert reply["ok"] is False and "bad request: bad msgpack" in reply["error"]
    finally:
        dealer.close()
        ctx.term()


def test_failing_bus_handler_restart_is_recorded_as_event(system: MonitoringSystem) -> None:
    system.bus.supervisor.backoff_initial = 0.001

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")
    system.bus.add_handler("broken", broken)
    assert system.core is not None
    system.core.emit({"id": "x", "ts": time.time(), "kind": "test", "host": "", "severity":
                      "info", "rule": "", "alert_id": "", "message": "poke", "data": {}})
    with ControlClient(system.endpoints["control"]) as c:
        events = wait_for(lambda: [e for e in c.request("snapshot")["events"]
                                   if e["kind"] == "restart"], timeout=5, what="restart event")
        assert "broken" in events[0]["message"] and "handler bug" in events[0]["message"]


def test_anomaly_baselines_are_saved_apart_and_restored(tmp_path: Path) -> None:
    from broker.alerting.evaluators import AnomalySeries

    cfg = {"rule": [{"name": "odd", "kind": "anomaly", "metric": "app.latency"}]}
    ms = MonitoringSystem(tmp_path, config=cfg).start()
    try:
        assert ms.engine is not None and ms.store is not None
        done: list[bool] = []

        def feed() -> None:  # on the core thread, which owns the engine
            for i in range(100):
                ms.engine.on_sample("h1", {"app.latency": 20.0 + i % 3}, None, 1e9 + i)
            ms.persist_engine(baselines=False)
            done.append(True)
        ms.core.post(feed)
        wait_for(lambda: done, timeout=5, what="samples fed")
        assert ms.store.load_state("anomaly") is None  # the small state only
        assert "baselines" not in ms.store.load_state("engine")
    finally:
        ms.stop()  # saves the baselines too
    ms2 = MonitoringSystem(tmp_path, config=cfg).start()
    try:
        assert ms2.engine is not None
        (s,) = ms2.engine.hosts["h1"].by_metric["app.latency"]
        assert isinstance(s, AnomalySeries) and s.det.n == 100
    finally:
        ms2.stop()
