"""The two axes of a text chart (core/textchart.py): nice value ticks labelled in the metric's
unit (core/units.py: IEC steps for bytes, SI otherwise) and time ticks that suit the range
(HH:MM up to a day, dates beyond). Pure functions of numbers; local time (tests pin TZ=UTC).
"""

from __future__ import annotations

import math
import time

from core.units import fmt

_MANTISSAS = (1.0, 2.0, 2.5, 5.0, 10.0)
# time tick intervals, smallest first; the first whose labels fit is used
_TIME_STEPS: tuple[float, ...] = (60.0, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
               2 * 86400, 7 * 86400, 14 * 86400)


def nice_step(span: float, count: int, base: float = 10.0) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ``base`` that cuts ``span`` into about
    ``count`` parts (``base`` 1024 for bytes: 256 MiB, 1 GiB steps)."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, count)
    if base == 1024.0 and raw >= 1024:
        power = 1024.0 ** math.floor(math.log(raw, 1024))
        for k in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
            if k * power >= raw:
                return k * power
    power = 10.0 ** math.floor(math.log10(raw))
    for m in _MANTISSAS:
        if m * power >= raw * 0.999:
            return m * power
    return 10 * power


def value_range(lo: float, hi: float, rows: int, unit: str) -> tuple[float, float, list[float]]:
    """Bounds on whole steps that hold ``lo``..``hi`` and the ticks between them. A constant
    series gets room above and below (a line in the middle, not a solid bar); values that
    are all positive never get a negative bound."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi - lo <= abs(hi) * 1e-12:
        pad = abs(hi) * 0.1 if hi else 1.0
        lo, hi = lo - pad, hi + pad
        if lo < 0 <= lo + pad:
            lo = 0.0
    count = max(1, min(rows // 2, 5)) if rows <= 20 else min(rows // 4, 10)  # a tick a few rows
    step = nice_step(hi - lo, count, 1024.0 if unit == "B" else 10.0)
    blo, bhi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if bhi <= blo:
        bhi = blo + step
    n = int(round((bhi - blo) / step))
    return blo, bhi, [blo + i * step for i in range(n + 1)]


def value_label(v: float, unit: str) -> str:
    """A tick label: the unit formatter, with an exact zero (no ``-0``) and a compact %."""
    if abs(v) < 1e-12:
        v = 0.0
    if unit == "%":
        return f"{v:.0f}%" if v == int(v) else f"{v:.1f}%"
    return fmt(v, unit)


def _offset(ts: float) -> int:
    return time.localtime(ts).tm_gmtoff


def time_format(span: float, step: float) -> str:
    """``%H:%M`` for a day or less, ``%b %d`` for longer ranges (``%d %H:%M`` when a
    multi-day range is ticked in hours)."""
    if span <= 86400 * 1.01:
        return "%H:%M"
    return "%b %d" if step >= 86400 else "%d %H:%M"


def time_ticks(t0: float, t1: float, cols: int) -> tuple[list[float], str]:
    """Tick times between ``t0`` and ``t1`` (aligned to local whole minutes, hours or days)
    and the strftime format of their labels, spaced so the labels of ``cols`` columns never
    touch."""
    span = t1 - t0
    if span <= 0 or cols <= 0:
        return [], "%H:%M"
    step = _TIME_STEPS[-1]
    for step in _TIME_STEPS:
        fmt_ = time_format(span, step)
        width = len(time.strftime(fmt_, time.localtime(t0))) + 2
        if span / step * width <= cols:
            break
    else:
        step = _TIME_STEPS[-1]
    off = _offset(t0)
    first = math.ceil((t0 + off) / step) * step - off
    ticks: list[float] = []
    t = float(first)
    while t <= t1 + 1e-6:
        ticks.append(t)
        t += step
    return ticks, fmt_


def time_label(ts: float, fmt_: str) -> str:
    return time.strftime(fmt_, time.localtime(ts))
