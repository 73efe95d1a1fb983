"""What the notifier hears: committed events normally, the live bus while the store fails.

In the normal case a notification goes out only about an event the event log holds: the
notifier is fed from the store's commits. Paging must not depend on the event log, though:
when the store cannot write (disk full, I/O error, read-only data dir) its commits stop.
So the feed listens to both the live bus and the commits. An event from the bus waits for
its commit; if the store is failing when it arrives, or starts failing while it waits, it
goes to the notifier at once and is counted in ``gap`` (notified before it was logged).
When the store recovers and commits it, the commit is skipped: each event reaches the
notifier once, in bus order.

A notifier that raises while handling an event does not lose it: the event is kept and
handed over again before the next one (up to ``RETRIES`` times, then logged and counted
in ``lost``), so one crash costs a delay, not a page.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from broker.events import Event

KINDS = ("alert", "ack", "unack", "silence", "unsilence")
MAX_WAITING = 100_000  # events waiting for their commit (beyond: sent at once, counted)
RETRIES = 3
log = logging.getLogger(__name__)


class NotifyFeed:
    def __init__(self, handle: Callable[[Event], None], failing: Callable[[], bool]) -> None:
        self.handle = handle
        self.failing = failing
        self._lock = threading.Lock()
        self._waiting: OrderedDict[str, Event] = OrderedDict()
        self._early: OrderedDict[str, None] = OrderedDict()  # sent before their commit
        self._committed_first: OrderedDict[str, None] = OrderedDict()  # commit beat the bus
        self.gap = 0  # events notified before the store held them
        self._retry: deque[tuple[Event, int]] = deque(maxlen=MAX_WAITING)
        self.retried = 0
        self.lost = 0

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
            self._deliver(event)

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
        self._deliver(event)

    def _deliver(self, event: Event, tries: int = 0) -> None:
        """Hand ``event`` to the notifier, after any that failed before (lock held)."""
        while self._retry:
            ev, n = self._retry.popleft()
            self.retried += 1
            if not self._try(ev, n):
                break
        if self._retry:
            self._retry.append((event, tries))
        else:
            self._try(event, tries)

    def _try(self, event: Event, tries: int) -> bool:
        try:
            self.handle(event)
            return True
        except Exception:
            log.exception("notify: handling event %s failed (try %d)", event.get("id"),
                          tries + 1)
            if tries + 1 < RETRIES:
                self._retry.appendleft((event, tries + 1))
            else:
                self.lost += 1
            return False

    def retry(self) -> None:
        """Hand over what failed before (called on a timer, so a quiet bus still retries)."""
        with self._lock:
            while self._retry:
                ev, n = self._retry.popleft()
                self.retried += 1
                if not self._try(ev, n):
                    return

    def stats(self) -> dict[str, int]:
        return {"waiting_for_commit": len(self._waiting), "notified_before_commit": self.gap,
                "notify_retried": self.retried, "notify_lost": self.lost}


def _trim(ids: OrderedDict[str, None]) -> None:
    while len(ids) > MAX_WAITING:
        ids.popitem(last=False)
