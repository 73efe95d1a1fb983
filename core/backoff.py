"""Exponential back-off, one implementation for every retry loop.

Used by the supervisor (restart delay), the store writer (a failing transaction), notify
delivery (per-receiver retries, with jitter so peers do not retry in step) and the TUI's
broker link (reconnects). ``next()`` returns the delay to wait now and doubles the next
one up to ``maximum``; ``reset()`` after a success starts again from ``initial``.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial: float, maximum: float, *, factor: float = 2.0,
                 jitter: float = 0.0, rng: random.Random | None = None) -> None:
        if initial <= 0 or maximum < initial or factor < 1 or not 0 <= jitter < 1:
            raise ValueError(f"bad back-off: initial {initial}, maximum {maximum}, "
                             f"factor {factor}, jitter {jitter}")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.current = initial

    def delay(self, attempt: int) -> float:
        """The delay before retry number ``attempt`` (1 = the first retry), jittered."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return self._jittered(base)

    def next(self) -> float:
        """The delay to wait now; the following one is ``factor`` times longer (capped)."""
        delay = self.current
        self.current = min(self.current * self.factor, self.maximum)
        return self._jittered(delay)

    def peek(self) -> float:
        """The delay ``next`` would return, without jitter or advancing."""
        return self.current

    def reset(self) -> None:
        self.current = self.initial

    def _jittered(self, base: float) -> float:
        if not self.jitter:
            return base
        return base * self.rng.uniform(1 - self.jitter, 1 + self.jitter)
