"""Which receivers hear about an alert, and when: matchers, routes, time windows.

Routes are a flat list evaluated in order, like the children of Alertmanager's root route:
the first route whose matchers all match takes the alert; with ``continue = true`` evaluation
goes on to the next routes too. An alert no route matches notifies nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.matchers import Matcher

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class TimeWindow:
    """Weekdays plus a time-of-day range in a time zone; end < start wraps past midnight."""

    days: frozenset[int] = frozenset(range(7))  # 0 = Monday
    start: time = time(0, 0)
    end: time | None = None  # None = end of day ("24:00")
    tz: tzinfo | None = None  # None = the broker's local time

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> TimeWindow:
        unknown = sorted(set(spec) - {"days", "start", "end", "timezone"})
        if unknown:
            raise ValueError(f"unknown key '{unknown[0]}' (allowed: days, start, end, timezone)")
        days = spec.get("days", list(DAYS))
        if not isinstance(days, list) or not days:
            raise ValueError("days: expected a list like [\"mon\", \"fri\"]")
        idx = set()
        for d in days:
            name = str(d).lower()[:3]
            if name not in DAYS:
                raise ValueError(f"days: unknown day {d!r} (use mon..sun)")
            idx.add(DAYS.index(name))
        tz = None
        if spec.get("timezone"):
            try:
                tz = ZoneInfo(str(spec["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"timezone: unknown time zone {spec['timezone']!r}") from None
        return cls(frozenset(idx), _hhmm(spec.get("start", "00:00"), "start") or time(0),
                   _hhmm(spec.get("end", "24:00"), "end"), tz)

    def contains(self, ts: float) -> bool:
        now = datetime.fromtimestamp(ts, self.tz) if self.tz else datetime.fromtimestamp(ts)
        t, day = now.time(), now.weekday()
        end = self.end
        if end is None or end > self.start:
            return day in self.days and self.start <= t and (end is None or t < end)
        # wraps midnight: [start, 24:00) on a listed day, [00:00, end) the day after one
        return (day in self.days and t >= self.start) or ((day - 1) % 7 in self.days and t < end)


def _hhmm(text: Any, key: str) -> time | None:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(text))
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59 or \
            (int(m.group(1)) == 24 and int(m.group(2)) != 0):
        raise ValueError(f"{key}: expected HH:MM (00:00-24:00), got {text!r}")
    if int(m.group(1)) == 24:
        return None
    return time(int(m.group(1)), int(m.group(2)))


@dataclass
class Route:
    index: int
    receivers: list[str]
    matchers: list[Matcher] = field(default_factory=list)
    cont: bool = False
    group_by: list[str] = field(default_factory=lambda: ["alertname", "host"])
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    send_resolved: bool = True
    escalate_after: float | None = None
    escalate_to: str | None = None
    active_time: list[TimeWindow] = field(default_factory=list)
    mute_time: list[TimeWindow] = field(default_factory=list)
    title: str = ""  # message templates (broker/notify/templates.py) for this route
    body: str = ""

    @property
    def name(self) -> str:
        return f"route{self.index}"

    def matches(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def muted(self, ts: float) -> bool:
        """Quiet hours: outside every active_time window, or inside a mute_time window."""
        if self.active_time and not any(w.contains(ts) for w in self.active_time):
            return True
        return any(w.contains(ts) for w in self.mute_time)

    def group_labels(self, labels: dict[str, str]) -> dict[str, str]:
        if "..." in self.group_by:
            return dict(sorted(labels.items()))
        return {k: labels.get(k, "") for k in self.group_by}


def route_alert(routes: list[Route], labels: dict[str, str]) -> list[Route]:
    """The routes that take an alert with these labels, in order."""
    out = []
    for r in routes:
        if r.matches(labels):
            out.append(r)
            if not r.cont:
                break
    return out


def group_key(route: Route, group_labels: dict[str, str]) -> str:
    """Alertmanager-style: 'route1:{alertname="x",host="web-1"}'."""
    inner = ",".join(f'{k}="{v}"' for k, v in group_labels.items())
    return f"{route.name}:{{{inner}}}"
