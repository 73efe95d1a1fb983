"""From the broker's ``history`` reply to a chart's Series (core/textchart.py): one home for
monitor-ctl's ``history --plot`` and the TUI's trend charts, so both draw the same line.

The rollups give the line (avg) and the band (min..max); the live samples the broker sends
with ``recent: true`` (those not yet in a closed rollup) extend the line to now, so a host
seen for ten seconds already has a line of ten points.
"""

from __future__ import annotations

from typing import Any

from core.textchart import Series

# (name, seconds, rollup step): the ranges a chart offers; 1 min rollups are kept 2 days
RANGES: tuple[tuple[str, float, str], ...] = (
    ("15m", 900.0, "1m"), ("1h", 3600.0, "1m"), ("6h", 6 * 3600.0, "1m"),
    ("24h", 86400.0, "1m"), ("7d", 7 * 86400.0, "1h"), ("30d", 30 * 86400.0, "1h"))
MINUTE_RETENTION_S = 2 * 86400.0


def step_for(span: float) -> str:
    """The rollup step for a range: minutes while they are kept (2 days), then hours."""
    return "1m" if span <= MINUTE_RETENTION_S else "1h"


def points_of(reply: Any) -> tuple[list[dict[str, Any]], list[tuple[float, float]]]:
    """(rollup points, live samples) of a ``history`` reply, old (a bare list) or new."""
    if isinstance(reply, list):
        return reply, []
    if not isinstance(reply, dict):
        return [], []
    recent = [(float(t), float(v)) for t, v in reply.get("recent") or ()]
    return list(reply.get("points") or ()), recent


STEP_S = {"1m": 60.0, "1h": 3600.0}


def series_of(label: str, reply: Any, step: str = "1m") -> Series:
    """The Series of a ``history`` reply: the rollups that end before the first live sample
    (the open one, which the samples cover, left out), then the live samples (their band is
    the sample itself). A hole longer than 2.5 steps is a gap."""
    points, recent = points_of(reply)
    first = recent[0][0] if recent else float("inf")
    size = STEP_S.get(step, 60.0)  # a bucket's point in its middle, not at its start;
    rows = [(p["ts"] + size / 2, p) for p in points if p["ts"] + size <= first]  # not the open one
    line: list[tuple[float, float | None]] = [(t, p["avg"]) for t, p in rows]
    low = [(t, p["min"]) for t, p in rows]
    high = [(t, p["max"]) for t, p in rows]
    line += recent
    low += recent
    high += recent
    return Series(label, line, low, high, gap=STEP_S.get(step, 60.0) * 2.5)


def summary(series: Series) -> tuple[float, float, float] | None:
    """(min, avg, max) over what the chart shows, None when it shows nothing."""
    values = [v for _, v in series.points if v is not None]
    if not values:
        return None
    lows = [v for _, v in series.low or ()] or values
    highs = [v for _, v in series.high or ()] or values
    return min(lows), sum(values) / len(values), max(highs)
