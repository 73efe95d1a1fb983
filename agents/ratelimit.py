"""A token bucket with counted drops, for the agent's log capture (per host, all sources).

``allow(source)`` spends a token or counts a drop against ``source``. ``summaries()``
returns, once ``window`` seconds have passed since the first drop of a run, one
``(source, count)`` per source that lost lines, so the follower can say
"dropped N lines from SOURCE" instead of dropping silently.
"""

from __future__ import annotations

from core.clock import Clock


class TokenBucket:
    def __init__(self, rate: float, clock: Clock, burst: float | None = None,
                 window: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError(f"rate limit must be positive, got {rate}")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else rate)
        self.window = window
        self._clock = clock
        self._tokens = self.burst
        self._at = clock.monotonic()
        self._dropped: dict[str, int] = {}
        self._since: float | None = None
        self.dropped_total = 0

    def allow(self, source: str, lines: int = 1) -> bool:
        """Spend a token for one event of ``lines`` lines, or count the lines as dropped."""
        now = self._clock.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self._dropped[source] = self._dropped.get(source, 0) + lines
        self.dropped_total += lines
        if self._since is None:
            self._since = now
        return False

    def summaries(self, force: bool = False) -> list[tuple[str, int]]:
        """Drop counts due for reporting (all of them when ``force``), then reset."""
        if not self._dropped:
            return []
        assert self._since is not None
        if not force and self._clock.monotonic() - self._since < self.window:
            return []
        out = sorted(self._dropped.items())
        self._dropped.clear()
        self._since = None
        return out
