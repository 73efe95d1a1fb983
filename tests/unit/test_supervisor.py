from __future__ import annotations

import threading
from typing import Any

from core.supervisor import Supervisor
from tests.procs import wait_for


def test_crashing_child_is_restarted_and_each_restart_recorded() -> None:
    restarts: list[dict[str, Any]] = []
    runs: list[int] = []

    def child(stop: threading.Event) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError(f"boom {len(runs)}")
        stop.wait()

    sup = Supervisor("t", backoff_initial=0.001, on_restart=restarts.append)
    sup.add("worker", child)
    sup.start()
    try:
        wait_for(lambda: len(runs) == 3, timeout=5, what="third run")
        assert [r["error"] for r in restarts] == ["RuntimeError: boom 1", "RuntimeError: boom 2"]
        assert [r["backoff"] for r in restarts] == [0.001, 0.002]  # exponential
        assert sup.status()[0]["restarts"] == 2 and sup.status()[0]["alive"]
    finally:
        sup.stop()


def test_restart_intensity_exceeded_escalates() -> None:
    escalated: list[str] = []

    def always_fails(stop: threading.Event) -> None:
        raise ValueError("bad config")

    sup = Supervisor("t", max_restarts=3, period=60, backoff_initial=0.001,
                     on_escalate=escalated.append)
    sup.add("broken", always_fails)
    sup.start()
    try:
        wait_for(lambda: escalated, timeout=5, what="escalation")
        assert "broken restarted 4 times" in escalated[0]
        assert "ValueError: bad config" in escalated[0]
        assert sup.escalated == escalated[0]
    finally:
        sup.stop()


def test_other_children_keep_running_one_for_one() -> None:
    ticks: list[int] = []
    crashed = threading.Event()

    def steady(stop: threading.Event) -> None:
        while not stop.wait(0.001):
            ticks.append(1)

    def crashy(stop: threading.Event) -> None:
        crashed.set()
        raise RuntimeError("x")

    sup = Supervisor("t", max_restarts=2, backoff_initial=0.001)
    sup.add("steady", steady)
    sup.add("crashy", crashy)
    sup.start()
    try:
        wait_for(lambda: sup.escalated, timeout=5, what="crashy gives up")
        before = len(ticks)
        wait_for(lambda: len(ticks) > before + 5, timeout=5, what="steady still ticking")
    finally:
        sup.stop()
