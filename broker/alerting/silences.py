"""Silences (Alertmanager-style label matchers with a time span).

A matcher is ``NAME OP VALUE`` with OP one of ``=``, ``!=``, ``=~``, ``!~``; regexes are
anchored (they must match the whole label value). The labels an alert offers are its own
labels plus ``host``, ``rule``, ``alertname`` (= rule), ``severity``, ``kind``, ``metric``
and ``state``; a label an alert lacks has the value "". A silence matches an alert when
every matcher does. It needs at least one matcher that does not match the empty string,
so a silence can never mute everything by accident.

Inhibition lives in broker/alerting/inhibit.py.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from core.config import ConfigError, parse_duration
from core.matchers import Matcher


@dataclass(slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    author: str
    comment: str
    created_at: float

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        state = "active" if now is None or self.active(now) else (
            "pending" if now < self.starts_at else "expired")
        return {"id": self.id, "matchers": [str(m) for m in self.matchers],
                "starts_at": self.starts_at, "ends_at": self.ends_at, "author": self.author,
                "comment": self.comment, "created_at": self.created_at, "state": state}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Silence:
        return cls(d["id"], tuple(Matcher.parse(m) for m in d["matchers"]),
                   float(d["starts_at"]), float(d["ends_at"]), d.get("author", ""),
                   d.get("comment", ""), float(d.get("created_at", d["starts_at"])))


def make_silence(matchers: Any, duration: Any, author: str, comment: str, now: float,
                 start: float | None = None, silence_id: str = "") -> Silence:
    """Validate and build a silence; raises ValueError with a reason a person can read."""
    if isinstance(matchers, str | dict):
        matchers = [matchers]
    parsed = tuple(Matcher.parse(m) for m in (matchers or ()))
    if not parsed:
        raise ValueError("a silence needs at least one matcher, e.g. host=web-1")
    if all(m.matches({}) for m in parsed):
        raise ValueError("a silence needs a matcher that does not match everything "
                         f"(got {', '.join(map(str, parsed))})")
    try:
        seconds = parse_duration(duration, "silence duration")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    if seconds <= 0:
        raise ValueError("a silence duration must be above zero")
    begin = now if start is None else float(start)
    if silence_id and not re.fullmatch(r"[0-9a-zA-Z_-]{1,64}", silence_id):
        raise ValueError(f"silence id {silence_id[:70]!r}: use 1-64 letters, digits, _ or -")
    return Silence(silence_id or uuid.uuid4().hex[:12], parsed, begin, begin + seconds,
                   author or "",
                   comment or "", now)


class SilenceSet:
    """The silences in force; expired ones leave on ``expire``."""

    def __init__(self) -> None:
        self.by_id: dict[str, Silence] = {}

    def add(self, s: Silence) -> None:
        self.by_id[s.id] = s

    def remove(self, silence_id: str) -> Silence:
        try:
            return self.by_id.pop(silence_id)
        except KeyError:
            raise KeyError(f"no silence with id '{silence_id}'") from None

    def matching(self, labels: dict[str, str], now: float) -> list[str]:
        if not self.by_id:
            return []
        return [s.id for s in self.by_id.values() if s.active(now) and s.matches(labels)]

    def expire(self, now: float) -> list[Silence]:
        gone = [s for s in self.by_id.values() if s.ends_at <= now]
        for s in gone:
            del self.by_id[s.id]
        return gone

    def __len__(self) -> int:
        return len(self.by_id)
