"""Injectable time, so alert timing and back-off are tested without sleeping."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (timestamps on frames and events)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (durations)."""


_WALL, _MONO = time.time, time.monotonic


class SystemClock:
    # the C functions themselves: ``clock.time()`` is then one builtin call, not a Python
    # frame around it (the broker reads the time once a received frame)
    time = staticmethod(_WALL)
    monotonic = staticmethod(_MONO)


class FakeClock:
    """A clock that moves only when told to; wall and monotonic advance together."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        return self.time()

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        with self._lock:
            self._now = float(now)


SYSTEM = SystemClock()
