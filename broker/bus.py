"""The event bus: the gen_event analog of DESIGN.md.

Handlers are added and removed at run time. Each handler has its own bounded queue and
thread, so a slow one never stalls the core loop that emits. When the queue of a dropping
handler is full the event is dropped for that handler and counted; a ``blocking`` handler
(the store) applies back-pressure instead and never loses an event. A handler that raises
is removed, logged, and re-added by the bus's supervisor after a back-off.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from broker.events import Event
from core.clock import SYSTEM, Clock
from core.supervisor import Supervisor

log = logging.getLogger(__name__)

HandlerFn = Callable[[Event], None]
_STOP = object()


class _Handler:
    def __init__(self, name: str, fn: HandlerFn, maxsize: int, blocking: bool,
                 kinds: tuple[str, ...] | None) -> None:
        self.name = name
        self.fn = fn
        self.blocking = blocking
        self.kinds = kinds
        self.queue: queue.Queue[Any] = queue.Queue(maxsize)
        self.handled = 0
        self.dropped = 0
        self.failures = 0
        self.attached = True

    def wants(self, event: Event) -> bool:
        return self.kinds is None or any(event["kind"].startswith(k) for k in self.kinds)


class EventBus:
    def __init__(self, clock: Clock = SYSTEM, on_restart: Callable[[dict[str, Any]], None]
                 | None = None) -> None:
        self.clock = clock
        self._handlers: dict[str, _Handler] = {}
        self._lock = threading.Lock()
        self.supervisor = Supervisor("bus", max_restarts=10, period=60.0, clock=clock,
                                     on_restart=on_restart)
        self.emitted = 0

    def start(self) -> None:
        self.supervisor.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            handlers = list(self._handlers.values())
        for h in handlers:
            try:
                h.queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
        self.supervisor.stop(timeout)

    def add_handler(self, name: str, fn: HandlerFn, *, maxsize: int = 10_000,
                    blocking: bool = False, kinds: tuple[str, ...] | None = None) -> None:
        """Attach ``fn``; it runs on its own thread. ``kinds`` filters by kind prefix."""
        h = _Handler(name, fn, maxsize, blocking, kinds)
        with self._lock:
            if name in self._handlers:
                raise ValueError(f"handler {name!r} is already on the bus")
            self._handlers[name] = h
        self.supervisor.add(name, functools.partial(self._run, h), restart="transient")

    def remove_handler(self, name: str) -> None:
        with self._lock:
            h = self._handlers.pop(name, None)
        if h:
            h.attached = False
            try:
                h.queue.put_nowait(_STOP)
            except queue.Full:
                pass

    def emit(self, event: Event) -> None:
        """Deliver to every handler's queue; never blocks, except on a blocking handler."""
        self.emitted += 1
        with self._lock:
            handlers = list(self._handlers.values())
        for h in handlers:
            if not h.attached or not h.wants(event):
                continue
            if h.blocking:
                h.queue.put(event)
            else:
                try:
                    h.queue.put_nowait(event)
                except queue.Full:
                    h.dropped += 1

    def send(self, name: str, item: Any) -> None:
        """Queue ``item`` for one handler only, in order with the events emitted before it
        (the engine state goes to the store this way, never ahead of its alert events)."""
        with self._lock:
            h = self._handlers.get(name)
        if h is None or not h.attached:
            raise KeyError(f"no handler {name!r} on the bus")
        h.queue.put(item) if h.blocking else h.queue.put_nowait(item)

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {h.name: {"handled": h.handled, "dropped": h.dropped, "failures": h.failures,
                             "queued": h.queue.qsize()} for h in self._handlers.values()}

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every queue is empty (tests, clean shutdown). True if drained."""
        deadline = self.clock.monotonic() + timeout
        while self.clock.monotonic() < deadline:
            with self._lock:
                if all(h.queue.unfinished_tasks == 0 for h in self._handlers.values()):
                    return True
            threading.Event().wait(0.005)
        return False

    def _run(self, h: _Handler, stop: threading.Event) -> None:
        """Handler thread body; an exception here is a crash the supervisor restarts.

        While the handler is down (between crash and restart) it is detached from the bus,
        so its queue does not fill with events it would handle late; the failing event is
        counted, not retried, so one poison event cannot crash-loop a handler.
        """
        h.attached = True
        while not stop.is_set():
            try:
                item = h.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if item is _STOP:
                    return
                h.fn(item)
                h.handled += 1
            except Exception:
                h.failures += 1
                h.attached = h.blocking  # the store keeps its queue: it must not lose events
                raise
            finally:
                h.queue.task_done()
        return
