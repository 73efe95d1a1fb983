"""Counters to per-second rates, keyed by name, with counter resets handled.

Operating systems expose totals (bytes received, sectors written, CPU jiffies); the agent
publishes rates. ``Rates.rate(key, value, now)`` remembers the previous sample of each key
and returns ``(value - previous) / (now - previous_now)``:

* first sample of a key: no rate yet (``None``);
* counter went down (reset: interface re-created, driver reloaded, 32-bit wrap that psutil
  did not correct): no rate for this sample, the new value becomes the baseline. We never
  publish a negative rate, and we do not guess ``value / dt`` either, because a counter
  that "reset" to a large value (a re-created interface) would show a bogus spike;
* time did not advance (same or earlier ``now``): no rate, the baseline is kept;
* non-finite input: ignored.

Time is whatever ``now`` the caller passes (the collector's injected clock).
"""

from __future__ import annotations

import math


class Rates:
    """Per-key rate computation over monotonically increasing counters."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, float]] = {}

    def rate(self, key: str, value: float, now: float) -> float | None:
        """Per-second rate of ``key`` since its previous sample, or None (see module doc)."""
        value = float(value)
        if not math.isfinite(value) or not math.isfinite(now):
            return None
        prev = self._last.get(key)
        if prev is None:
            self._last[key] = (value, now)
            return None
        prev_value, prev_now = prev
        dt = now - prev_now
        if dt <= 0:
            return None
        self._last[key] = (value, now)
        if value < prev_value:
            return None
        return (value - prev_value) / dt

    def put(self, out: dict[str, float], key: str, value: float, now: float) -> None:
        """Store the rate of ``key`` in ``out[key]`` when there is one (collector helper)."""
        r = self.rate(key, value, now)
        if r is not None:
            out[key] = r

    def prune(self, older_than: float) -> int:
        """Forget keys last sampled before ``older_than`` (vanished disks, interfaces)."""
        stale = [k for k, (_, ts) in self._last.items() if ts < older_than]
        for k in stale:
            del self._last[k]
        return len(stale)

    def forget(self, key: str) -> None:
        self._last.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._last

    def __len__(self) -> int:
        return len(self._last)
