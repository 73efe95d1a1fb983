"""What an operator types to rewind (`t`), turned into a moment: pure, no Textual.

    -2h  -90m  -1h30m  -45s  -2d  2h ago   a span back from now
    03:12  03:12:30                         the most recent such local time (today or yesterday)
    2026-11-29 03:12  2026-11-29T03:12:30   a local date and time
    now

``parse`` raises ``ValueError`` with a line naming what is wrong.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from core.units import duration

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
LONG_UNITS = {"sec": "s", "secs": "s", "min": "m", "mins": "m", "hr": "h", "hrs": "h",
              "hour": "h", "hours": "h", "day": "d", "days": "d", "week": "w", "weeks": "w"}
PRESETS = [("-15m", "15 minutes ago"), ("-1h", "an hour ago"), ("-6h", "6 hours ago"),
           ("-24h", "a day ago"), ("-2d", "2 days ago"), ("-7d", "a week ago")]
EXAMPLES = "-2h, -90m, 03:12 or 2026-11-29 03:12"
_SPAN = re.compile(r"^-?\s*((?:\d+(?:\.\d+)?\s*[a-z]+\s*)+?)(?:\s*ago)?$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse(text: str, now: float) -> float:
    """The moment ``text`` names, in unix seconds, at most ``now``."""
    raw = text.strip().lower()
    if not raw:
        raise ValueError(f"type a time: {EXAMPLES}")
    if raw == "now":
        return now
    if raw[0] == "-" or raw.endswith("ago") or raw[-1] in UNITS:
        t = now - _span(raw, text.strip())
    elif ":" in raw and "-" not in raw:
        t = _clock(raw, text.strip(), now)
    elif re.match(r"^\d{4}-", raw):
        t = _date(raw, text.strip())
    else:
        raise ValueError(f"{text.strip()!r} is not a time: try {EXAMPLES}")
    if t > now + 1:
        raise ValueError(f"{text.strip()!r} is {duration(t - now)} in the future: rewind "
                         "shows the past")
    return min(t, now)


def _span(raw: str, shown: str) -> float:
    m = _SPAN.match(raw)
    if m is None:
        raise ValueError(f"{shown!r}: a span back is a number and a unit, like -2h or -90m")
    total = 0.0
    for number, unit in _PART.findall(m.group(1)):
        size = UNITS.get(LONG_UNITS.get(unit, unit))
        if size is None:
            raise ValueError(f"{shown!r}: unknown unit {unit!r} (use s, m, h, d or w)")
        total += float(number) * size
    if total <= 0:
        raise ValueError(f"{shown!r}: the span back must be more than zero")
    return total


def _clock(raw: str, shown: str, now: float) -> float:
    m = _CLOCK.match(raw)
    if m is None:
        raise ValueError(f"{shown!r}: a time of day is HH:MM or HH:MM:SS, like 03:12")
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    _check(shown, hour, minute, second)
    today = datetime.fromtimestamp(now)
    at = today.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if at.timestamp() > now:  # not yet today: the most recent one was yesterday's
        at = datetime.combine(today.date() - timedelta(days=1), at.time())
    return at.timestamp()


def _date(raw: str, shown: str) -> float:
    m = _DATE.match(raw)
    if m is None:
        raise ValueError(f"{shown!r}: a date and time is YYYY-MM-DD HH:MM, like "
                         "2026-11-29 03:12")
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    hour, minute, second = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
    _check(shown, hour, minute, second)
    try:
        return datetime(year, month, day, hour, minute, second).timestamp()
    except ValueError as exc:  # month 13, February 30th
        raise ValueError(f"{shown!r} is not a date ({exc})") from None


def _check(shown: str, hour: int, minute: int, second: int) -> None:
    for value, name, top in ((hour, "hour", 23), (minute, "minute", 59),
                             (second, "second", 59)):
        if value > top:
            raise ValueError(f"{shown!r}: {name} {value} is past {top}")


def when(t: float, now: float) -> str:
    """``19:59:20`` (or ``2026-11-27 19:59:20`` a day or more back), local time."""
    fmt = "%H:%M:%S" if now - t < 86400 else "%Y-%m-%d %H:%M:%S"
    return time.strftime(fmt, time.localtime(t))


def ago(t: float, now: float) -> str:
    """``2h 14m ago`` / ``now``."""
    return "now" if now - t < 1 else f"{duration(now - t)} ago"
