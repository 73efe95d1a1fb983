"""Fixtures of the log follower tests: a fake clock, a sink that records, a follower maker."""

from __future__ import annotations

import pytest

from agents.logs import LogFollower
from core.clock import FakeClock


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, float]] = []

    def __call__(self, source: str, level: str, message: str, ts: float) -> None:
        self.events.append((source, level, message, ts))

    @property
    def messages(self) -> list[str]:
        return [m for _, _, m, _ in self.events]

    def take(self) -> list[str]:
        out = self.messages
        self.events.clear()
        return out


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sink():
    return Sink()


@pytest.fixture
def follow(clock, sink):
    made: list[LogFollower] = []

    def make(*patterns, **kw):
        kw.setdefault("clock", clock)
        f = LogFollower([str(p) for p in patterns], sink, **kw)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()
