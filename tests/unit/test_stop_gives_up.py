"""A stopping broker does not sit out timeouts: a core-loop call made as the loop stops, and
a request to a peer that does not answer, give up within a moment of the stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import zmq

from broker.bus import EventBus
from broker.ingest.loop import BrokerCore
from core.client import BrokerTimeout, ControlClient


def _running_core(tmp_path: Path) -> tuple[BrokerCore, threading.Event, threading.Thread]:
    eps = {k: f"ipc://{tmp_path}/{k}" for k in ("ingest", "publish", "control")}
    core = BrokerCore(eps, EventBus())
    stop = threading.Event()
    t = threading.Thread(target=core.run, args=(stop,))
    t.start()
    return core, stop, t


def test_a_call_posted_to_a_stopped_core_loop_fails_at_once(tmp_path: Path) -> None:
    core, stop, t = _running_core(tmp_path)
    try:
        assert core.call(lambda: 42) == 42  # running: it answers
        stop.set()
        t.join(5)
        assert not t.is_alive()
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="stopping"):
            core.call(lambda: 1, timeout=5.0)
        assert time.monotonic() - started < 1.0  # not the 5 s timeout
    finally:
        stop.set()
        t.join(5)
        core.close()


def test_a_request_to_a_silent_peer_gives_up_when_told_to_stop() -> None:
    ctx = zmq.Context()
    silent = ctx.socket(zmq.ROUTER)  # takes the request, never answers
    port = silent.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()
    client = ControlClient(f"tcp://127.0.0.1:{port}", timeout=5.0, ctx=ctx, stop=stop)
    try:
        threading.Timer(0.2, stop.set).start()
        started = time.monotonic()
        with pytest.raises(BrokerTimeout):
            client.request("status")
        took = time.monotonic() - started
        assert 0.15 < took < 1.5, took  # waited until the stop, not the 5 s timeout
        assert silent.poll(1000)  # the request did go out
    finally:
        client.close()
        silent.close(0)
        ctx.term()


def test_an_event_posted_just_before_the_loop_stopped_is_not_lost(tmp_path: Path) -> None:
    """`broker.start` is posted to the core thread; a stop right after start could end the
    loop before it ran, and the event log began with `broker.stop` (seen once in CI)."""
    from broker.events import make_event

    core, stop, t = _running_core(tmp_path)
    try:
        assert core.call(lambda: 42) == 42
        stop.set()
        t.join(5)
        assert not t.is_alive()
        core.emit(make_event("broker.start", "started", ts=1.0))  # posted, never run by the loop
        core.emit_stopped(make_event("broker.stop", "stopping", ts=2.0))
        assert [e["kind"] for e in core.recent][-2:] == ["broker.start", "broker.stop"]
    finally:
        stop.set()
        t.join(5)
        core.close()
