from __future__ import annotations

import threading
from typing import Any

from broker.bus import EventBus
from broker.events import make_event
from tests.procs import wait_for


def ev(i: int, kind: str = "test") -> dict[str, Any]:
    return make_event(kind, f"event {i}", ts=1.0 + i)


def test_every_handler_gets_every_event_in_order() -> None:
    bus = EventBus()
    got_a: list[str] = []
    got_b: list[str] = []
    bus.add_handler("a", lambda e: got_a.append(e["message"]))
    bus.add_handler("b", lambda e: got_b.append(e["message"]), kinds=("alert",))
    bus.start()
    try:
        for i in range(50):
            bus.emit(ev(i, "alert" if i % 2 else "log"))
        assert bus.drain(5)
        assert got_a == [f"event {i}" for i in range(50)]
        assert got_b == [f"event {i}" for i in range(1, 50, 2)]
    finally:
        bus.stop()


def test_slow_handler_drops_and_counts_but_never_blocks_emit() -> None:
    bus = EventBus()
    release = threading.Event()
    bus.add_handler("slow", lambda e: release.wait(5), maxsize=10)
    fast: list[int] = []
    bus.add_handler("fast", lambda e: fast.append(1), maxsize=1000)
    bus.start()
    try:
        for i in range(200):
            bus.emit(ev(i))  # returns at once even though "slow" is stuck
        stats = bus.stats()
        assert stats["slow"]["dropped"] >= 150
        release.set()
        assert bus.drain(5)
        assert len(fast) == 200
    finally:
        release.set()
        bus.stop()


def test_blocking_handler_never_drops() -> None:
    bus = EventBus()
    got: list[int] = []
    bus.add_handler("store", lambda e: got.append(1), maxsize=5, blocking=True)
    bus.start()
    try:
        for i in range(300):
            bus.emit(ev(i))
        assert bus.drain(5)
        assert len(got) == 300 and bus.stats()["store"]["dropped"] == 0
    finally:
        bus.stop()


def test_failing_handler_is_restarted_and_restart_recorded() -> None:
    restarts: list[dict[str, Any]] = []
    bus = EventBus(on_restart=restarts.append)
    bus.supervisor.backoff_initial = 0.001
    got: list[str] = []

    def flaky(e: dict[str, Any]) -> None:
        if e["message"] == "event 3":
            raise RuntimeError("poison")
        got.append(e["message"])

    bus.add_handler("flaky", flaky)
    bus.start()
    try:
        for i in range(5):
            bus.emit(ev(i))
        wait_for(lambda: restarts, timeout=5, what="restart")
        assert restarts[0]["child"] == "flaky" and "poison" in restarts[0]["error"]
        wait_for(lambda: bus._handlers["flaky"].attached, timeout=5, what="re-attached")
        bus.emit(ev(9))
        wait_for(lambda: "event 9" in got, timeout=5, what="handled after restart")
        assert "event 3" not in got and bus.stats()["flaky"]["failures"] == 1
    finally:
        bus.stop()


def test_remove_handler_at_run_time() -> None:
    bus = EventBus()
    got: list[int] = []
    bus.add_handler("h", lambda e: got.append(1))
    bus.start()
    try:
        bus.emit(ev(1))
        assert bus.drain(5)
        bus.remove_handler("h")
        bus.emit(ev(2))
        assert got == [1] and "h" not in bus.stats()
    finally:
        bus.stop()
