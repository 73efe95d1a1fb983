"""An OTP-style one_for_one supervisor for threads.

Each child is a function ``run(stop: threading.Event) -> None`` that does its work until
``stop`` is set. When a child raises (or returns while it should be running) the supervisor
records the failure, waits an exponential back-off, and starts it again. More than
``max_restarts`` restarts within ``period`` seconds means something is badly wrong: the
supervisor gives up and escalates to its parent through ``on_escalate`` (a process-level
supervisor such as systemd then restarts the whole process).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.backoff import Backoff
from core.clock import SYSTEM, Clock

log = logging.getLogger(__name__)

ChildFn = Callable[[threading.Event], None]
RestartHook = Callable[[dict[str, Any]], None]


@dataclass
class Child:
    name: str
    run: ChildFn
    restart: str = "permanent"  # permanent: always restart; transient: only after a crash
    restarts: int = 0
    thread: threading.Thread | None = None
    history: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    last_error: str = ""


class Supervisor:
    def __init__(self, name: str, *, max_restarts: int = 5, period: float = 30.0,
                 backoff_initial: float = 0.1, backoff_max: float = 10.0,
                 clock: Clock = SYSTEM, on_restart: RestartHook | None = None,
                 on_escalate: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.max_restarts = max_restarts
        self.period = period
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.clock = clock
        self.on_restart = on_restart
        self.on_escalate = on_escalate
        self.children: dict[str, Child] = {}
        self.stop_event = threading.Event()
        self.escalated: str | None = None
        self._lock = threading.Lock()

    def add(self, name: str, run: ChildFn, restart: str = "permanent") -> Child:
        if name in self.children:
            raise ValueError(f"child {name!r} already supervised by {self.name}")
        child = Child(name, run, restart)
        self.children[name] = child
        if self._started:
            self._spawn(child)
        return child

    _started = False

    def start(self) -> None:
        self._started = True
        for child in self.children.values():
            self._spawn(child)

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        for child in self.children.values():
            if child.thread and child.thread is not threading.current_thread():
                child.thread.join(timeout)

    def status(self) -> list[dict[str, Any]]:
        return [{"name": c.name, "alive": bool(c.thread and c.thread.is_alive()),
                 "restarts": c.restarts, "last_error": c.last_error}
                for c in self.children.values()]

    # ------------------------------------------------------------ internals

    def _spawn(self, child: Child) -> None:
        t = threading.Thread(target=self._guard, args=(child,), name=f"{self.name}/{child.name}",
                             daemon=True)
        child.thread = t
        t.start()

    def _guard(self, child: Child) -> None:
        backoff = Backoff(self.backoff_initial, max(self.backoff_initial, self.backoff_max))
        while not self.stop_event.is_set():
            error = ""
            try:
                child.run(self.stop_event)
                if self.stop_event.is_set() or child.restart == "transient":
                    return
                error = "exited while it should be running"
            except Exception as exc:  # a child's crash is the supervisor's business
                error = f"{exc.__class__.__name__}: {exc}"
                log.error("%s/%s crashed: %s\n%s", self.name, child.name, error,
                          traceback.format_exc(limit=5))
            if self.stop_event.is_set():
                return
            now = self.clock.monotonic()
            with self._lock:
                child.restarts += 1
                child.last_error = error
                child.history.append(now)
                recent = sum(1 for t in child.history if now - t <= self.period)
            delay = backoff.peek()
            if recent > self.max_restarts:
                reason = (f"{child.name} restarted {recent} times in {self.period:.0f}s "
                          f"(limit {self.max_restarts}); last error: {error}")
                self.escalated = reason
                self._emit(child, error, delay, escalated=True)
                if self.on_escalate:
                    self.on_escalate(reason)
                return
            self._emit(child, error, delay, escalated=False)
            if self.stop_event.wait(backoff.next()):
                return

    def _emit(self, child: Child, error: str, delay: float, escalated: bool) -> None:
        if not self.on_restart:
            return
        try:
            self.on_restart({"supervisor": self.name, "child": child.name, "error": error,
                             "restarts": child.restarts, "backoff": delay,
                             "escalated": escalated})
        except Exception:  # a broken hook must not take the supervisor down
            log.exception("restart hook failed")
