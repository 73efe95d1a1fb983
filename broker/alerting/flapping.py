"""Flap detection as Icinga does it: a weighted state-change percentage over 21 states.

The history holds the last 21 observed states of an alert (True = firing), so up to 20
changes. A state is recorded at every firing/resolved transition, and by the engine's tick
at least every ``STABLE_RECORD_S`` seconds while nothing changes, so an alert that settles
pushes its old changes out. Each change weighs between 0.8 (oldest) and 1.2 (newest); the
percentage is the weighted sum over 20. Flapping starts above ``start`` % and stops below
``stop`` % (the two thresholds keep the flag itself from flapping).
"""

from __future__ import annotations

from collections import deque

HISTORY = 21
STABLE_RECORD_S = 60.0
_LOW, _HIGH = 0.8, 1.2
_WEIGHTS = tuple(_LOW + (_HIGH - _LOW) * i / (HISTORY - 2) for i in range(HISTORY - 1))


def change_percent(states: deque[bool] | list[bool]) -> float:
    """Weighted percentage of state changes in ``states`` (oldest first), 0..100."""
    s = list(states)
    offset = (HISTORY - 1) - (len(s) - 1)  # a short history counts as the newest changes
    total = 0.0
    for i in range(1, len(s)):
        if s[i] != s[i - 1]:
            total += _WEIGHTS[offset + i - 1]
    return total / (HISTORY - 1) * 100.0


class FlapDetector:
    __slots__ = ("states", "flapping", "last_record", "percent")

    def __init__(self) -> None:
        self.states: deque[bool] = deque(maxlen=HISTORY)
        self.flapping = False
        self.last_record = 0.0
        self.percent = 0.0

    def record(self, firing: bool, now: float, start: float, stop: float) -> bool:
        """Add a state; True when the flapping flag changed."""
        self.states.append(firing)
        self.last_record = now
        self.percent = change_percent(self.states)
        if not self.flapping and self.percent > start:
            self.flapping = True
            return True
        if self.flapping and self.percent < stop:
            self.flapping = False
            return True
        return False

    def due(self, now: float) -> bool:
        return now - self.last_record >= STABLE_RECORD_S

    def dump(self) -> dict[str, object]:
        return {"states": list(self.states), "flapping": self.flapping,
                "last_record": self.last_record}

    def load(self, data: dict[str, object]) -> None:
        self.states = deque((bool(x) for x in data.get("states", [])), maxlen=HISTORY)  # type: ignore[attr-defined]
        self.flapping = bool(data.get("flapping", False))
        self.last_record = float(data.get("last_record", 0.0))  # type: ignore[arg-type]
        self.percent = change_percent(self.states)
