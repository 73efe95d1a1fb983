"""A bounded queue for one consumer that takes items in batches; full means the producer waits.

``queue.Queue.get`` costs about 4 us an item, which was a fifth of the writer's time at
50k events/s; this one hands the writer a whole batch under one lock acquisition.
"""

from __future__ import annotations

import collections
import threading
from typing import Any


class BatchQueue:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: collections.deque[Any] = collections.deque()
        self._cond = threading.Condition()
        self._consumer_waiting = False
        self._producers_waiting = 0
        self.put_count = 0  # items ever put; flush() waits until this many are done

    def put(self, item: Any, timeout: float | None = None) -> int:
        """Append; block while full (back-pressure, never a drop). Returns the put count."""
        with self._cond:
            while len(self._items) >= self.maxsize:
                self._producers_waiting += 1
                try:
                    if not self._cond.wait(timeout) and timeout is not None:
                        raise TimeoutError("event store queue full")
                finally:
                    self._producers_waiting -= 1
            self._items.append(item)
            self.put_count += 1
            if self._consumer_waiting:
                self._cond.notify_all()
            return self.put_count

    def take(self, limit: int, timeout: float = 0.0) -> list[Any]:
        """Up to ``limit`` items, oldest first; waits up to ``timeout`` for the first."""
        with self._cond:
            if not self._items and timeout > 0:
                self._consumer_waiting = True
                try:
                    self._cond.wait(timeout)
                finally:
                    self._consumer_waiting = False
            if len(self._items) <= limit:
                out = list(self._items)
                self._items.clear()
            else:
                out = [self._items.popleft() for _ in range(limit)]
            if out and self._producers_waiting:
                self._cond.notify_all()
            return out

    def wake(self) -> None:
        """Make a waiting ``take`` return now."""
        with self._cond:
            self._cond.notify_all()

    def qsize(self) -> int:
        return len(self._items)
