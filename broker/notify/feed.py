"""What the notifier hears: committed events normally, the live bus while the store fails.

In the normal case a notification goes out only about an event the event log holds: the
notifier is fed from the store's commits. Paging must not depend on the event log, though:
when the store cannot write (disk full, I/O error, read-only data dir) its commits stop.
So the feed listens to both the live bus and the commits. An event from the bus waits for
its commit; if the store is failing when it arrives, or starts failing while it waits, it
goes to the notifier at once and is counted in ``gap`` (notified before it was logged).
When the store recovers and commits it, the commit is skipped: each event reaches the
notifier once, in bus order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from broker.events import Event

KINDS = ("alert", "ack", "unack", "silence", "unsilence")
MAX_WAITING = 100_000  # events waiting for their commit (beyond: sent at once, counted)


class NotifyFeed:
    def __init__(self, handle: Callable[[Event], None], failing: Callable[[], bool]) -> None:
        self.handle = handle
        self.failing = failing
        self._lock = threading.Lock()
        self._waiting: OrderedDict[str, Event] = OrderedDict()
        self._early: OrderedDict[str, None] = OrderedDict()  # sent before their commit
        self._committed_first: OrderedDict[str, None] = OrderedDict()  # commit beat the bus
        self.gap = 0  # events notified before the store held them

    def on_bus(self, event: Event) -> None:
        """Live bus handler (its own thread)."""
        eid = str(event.get("id"))
        with self._lock:
            if self._committed_first.pop(eid, 1) is None:
                return  # the commit overtook the bus handler: already notified
            if self.failing() or len(self._waiting) >= MAX_WAITING:
                self._send_early(event)
            else:
                self._waiting[eid] = event

    def on_committed(self, event: Event) -> None:
        """Commit bus handler: the store holds ``event`` now."""
        eid = str(event.get("id"))
        with self._lock:
            if self._early.pop(eid, 1) is None:
                return  # notified while the store was failing
            if self._waiting.pop(eid, None) is None:
                self._committed_first[eid] = None
                _trim(self._committed_first)
            self.handle(event)

    def store_failing(self) -> None:
        """The store just failed: whatever waits for a commit goes out now."""
        with self._lock:
            while self._waiting:
                _, ev = self._waiting.popitem(last=False)
                self._send_early(ev)

    def _send_early(self, event: Event) -> None:
        self.gap += 1
        self._early[str(event.get("id"))] = None
        _trim(self._early)
        self.handle(event)

    def stats(self) -> dict[str, int]:
        return {"waiting_for_commit": len(self._waiting), "notified_before_commit": self.gap}


def _trim(ids: OrderedDict[str, None]) -> None:
    while len(ids) > MAX_WAITING:
        ids.popitem(last=False)
