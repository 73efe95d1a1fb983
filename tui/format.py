"""Pure formatting helpers: numbers, ages, bars, sparklines and threshold levels."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from core.protocol import SEVERITY_RANK
from core.units import fmt_metric

SPARK = "▁▂▃▄▅▆▇█"

# (warning, critical) per metric family, used to colour gauges when the broker's rules do not
# say otherwise. They mirror the shipped default rules.
DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    "cpu": (80.0, 95.0),
    "mem": (85.0, 95.0),
    "swap": (50.0, 80.0),
    "disk": (85.0, 95.0),
}
SEVERITY_ORDER = {s: -rank for s, rank in SEVERITY_RANK.items()}  # most severe first
SEV_LABEL = {"critical": "CRIT", "warning": "WARN", "info": "INFO"}

# Escape sequences (CSI, OSC) and the other C0/C1 control characters but tab and newline.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
                      r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: Any) -> str:
    """Data for the screen: log lines and comments may carry ANSI colours or worse; written
    as they are, they would move the cursor or clear the operator's terminal."""
    return _CONTROL.sub("", str(text))


def level(family: str, value: float | None,
          thresholds: dict[str, tuple[float, float]] | None = None) -> str:
    """'ok', 'warning' or 'critical' for a value of a metric family (cpu, mem, swap, disk)."""
    if value is None:
        return "ok"
    warn, crit = (thresholds or DEFAULT_THRESHOLDS).get(family, (float("inf"), float("inf")))
    if value >= crit:
        return "critical"
    if value >= warn:
        return "warning"
    return "ok"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def rate(value: float | None) -> str:
    """Bytes per second, compact: 512, 12K, 3.4M, 1.2G."""
    if value is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            v = value / scale
            return f"{v:.1f}{unit}" if v < 10 else f"{v:.0f}{unit}"
    return f"{value:.0f}"


def num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def age(seconds: float) -> str:
    """A short age: 5s, 3m, 2h, 4d."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def sparkline(values: Sequence[float] | Iterable[float], width: int,
              lo: float | None = 0.0, hi: float | None = None) -> str:
    """The last ``width`` values as block characters, scaled to [lo, hi] (auto when None)."""
    vals = list(values)[-width:] if width > 0 else []
    if not vals:
        return ""
    if hi is None and max(vals) == min(vals):
        return SPARK[0] * len(vals)  # a constant series is a flat line, not a solid bar
    low = min(vals) if lo is None else lo
    high = max(vals) if hi is None else hi
    if high <= low:
        high = low + 1.0
    top = len(SPARK) - 1
    return "".join(SPARK[max(0, min(top, round((v - low) / (high - low) * top)))] for v in vals)


def bar(value: float | None, width: int, full: float = 100.0) -> str:
    """A horizontal bar that reads without colour: filled blocks then light shade."""
    if width <= 0:
        return ""
    filled = 0 if value is None else max(0, min(width, round(value / full * width)))
    return "█" * filled + "░" * (width - filled)


def alert_value(alert: dict[str, Any], live: float | None = None) -> str:
    """``98.5% > 95%``: the value (``live``, the host's latest sample, when known: the
    alert's own value is as of its last transition) against the threshold, with the
    rule's own operator, formatted by the metric's unit and never cut."""
    value, threshold = alert.get("value"), alert.get("threshold")
    if alert.get("metric") == "up":
        return "no data"
    if live is not None:
        value = live
    if value is None:
        return ""
    metric = str(alert.get("metric") or "")
    text = fmt_metric(metric, value) if isinstance(value, int | float) else str(value)
    if threshold is not None:
        op = alert.get("op") or ">"
        text += (f" {op} {fmt_metric(metric, threshold)}"
                 if isinstance(threshold, int | float) else f" vs {threshold}")
    return text


def chart(values: Sequence[float], width: int, height: int, lo: float = 0.0,
          hi: float | None = None) -> list[str]:
    """A multi-row bar chart of the last ``width`` values, top row first."""
    vals = list(values)[-width:]
    if not vals or height <= 0:
        return [""] * max(0, height)
    high = max(vals) if hi is None else hi
    if high <= lo:
        high = lo + 1.0
    levels = len(SPARK)
    rows = []
    for r in range(height - 1, -1, -1):
        line = []
        for v in vals:
            filled = (max(lo, min(high, v)) - lo) / (high - lo) * height * levels
            cell = filled - r * levels
            line.append(" " if cell <= 0 else SPARK[max(0, min(levels, math.ceil(cell)) - 1)])
        rows.append("".join(line))
    return rows


def clock(ts: float) -> str:
    """HH:MM:SS in local time (tests pin TZ=UTC)."""
    import time

    return time.strftime("%H:%M:%S", time.localtime(ts))


def thresholds_from_rules(rules: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Gauge colours from the broker's threshold rules (``warning``/``critical`` per metric)."""
    out = dict(DEFAULT_THRESHOLDS)
    for rule in rules:
        family = str(rule.get("metric", "")).split(".")[0]
        warn, crit = rule.get("warning"), rule.get("critical")
        if family in out and rule.get("op", ">") in (">", ">=") \
                and isinstance(warn, int | float) and isinstance(crit, int | float):
            out[family] = (float(warn), float(crit))
    return out
