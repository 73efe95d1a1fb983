"""The fast path: a real crossing on this host reaches the broker before the next regular
frame. The watched value is loopback receive bytes/s: the test makes it cross by sending
real bytes over a real socket, sized so that no regular frame (5 s apart) can cross."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from core import protocol
from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration

LEVEL = 300e6  # bytes/s on lo: the fast path's 1 s window crosses it, a 5 s frame cannot
BLAST = 700 * 2**20  # bytes: at most 147 MB/s over one 5 s regular interval


def _blast(n: int) -> float:
    """Send ``n`` bytes over loopback as fast as we can; returns the seconds it took."""
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def drain() -> None:
        conn, _ = srv.accept()
        with conn:
            while conn.recv(4 * 2**20):
                pass
    t = threading.Thread(target=drain)
    t.start()
    chunk = b"x" * (4 * 2**20)
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as c:
        for _ in range(n // len(chunk)):
            c.sendall(chunk)
    t.join()
    srv.close()
    return time.monotonic() - t0


@pytest.fixture
def sub(tmp_path: Path) -> Iterator[tuple[Broker, zmq.Socket[Any]]]:
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[[rule]]\nname = "lo_flood"\nkind = "threshold"\n'
                     f'metric = "net.lo.rx_bps"\nop = ">"\ncritical = {LEVEL}\n')
    broker = Broker(tmp_path / "data", "--rules", str(rules))
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(broker.endpoints["publish"])
    yield broker, s
    s.close(linger=0)
    broker.stop()


@pytest.mark.serial  # a loopback flood and a latency bound: needs the machine
def test_crossing_arrives_before_the_next_regular_frame(sub) -> None:  # type: ignore[no-untyped-def]
    broker, s = sub
    agent = start_agent(broker.endpoints["ingest"], "--host", "fast-1", "--interval", "5",
                        "--control", broker.endpoints["control"], "-v")
    log: list[str] = []
    done = threading.Event()
    collector: threading.Thread | None = None
    reader = threading.Thread(target=lambda: log.extend(iter(agent.stderr.readline, "")),
                              daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("fast path: watching 1 value" in x for x in log), timeout=20,
                 what="the agent to fetch its thresholds")
        frames: list[tuple[float, dict[str, Any]]] = []

        def collect() -> None:
            while not done.is_set():
                if s.poll(50):
                    frames.append((time.monotonic(), protocol.decode(s.recv_multipart())))
        collector = threading.Thread(target=collect)
        collector.start()
        # wait for a regular frame, so the next one is about 5 s away
        wait_for(lambda: any(f["kind"] == "metrics" and not f.get("fast") for _, f in frames),
                 timeout=8, what="a regular frame")
        start = time.monotonic()
        took = _blast(BLAST)
        alert = wait_for(lambda: [(t, f) for t, f in frames if f["kind"] == "alert"],
                         timeout=6, what="the alert frame")[0]
        after = [(t, f) for t, f in frames if t > start and f["kind"] == "metrics"]
        over = [(t, f) for t, f in after if f["metrics"].get("net.lo.rx_bps", 0) > LEVEL]
        crossed_at, crossing = over[0]
        assert crossing.get("fast") is True, crossing  # only the fast path saw the crossing
        assert alert[1]["alert"]["rule"] == "lo_flood"
        assert alert[0] >= crossed_at
        # the alert came before the next regular frame, and within the blast plus a few
        # fast periods rather than the 5 s interval
        next_regular = [t for t, f in after if t > crossed_at and not f.get("fast")]
        assert not next_regular or alert[0] < next_regular[0]
        assert alert[0] - start < took + 1.0, (alert[0] - start, took)
        assert all(f["metrics"].get("net.lo.rx_bps", 0) < LEVEL for _, f in after
                   if not f.get("fast"))
    finally:
        done.set()
        if collector is not None:
            collector.join(5)
        stop_proc(agent)
