"""Values and durations for people: ``64 %``, ``12 MB/s``, ``3h 20m``.

The unit comes from the metric name's conventions (protocol: dotted names): ``*.percent``
is a percentage, ``*_bps`` bytes per second, ``*_ps`` per second, ``*bytes*`` bytes.
"""

from __future__ import annotations

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def unit_of(metric: str) -> str:
    m = metric.lower()
    if m.endswith("percent") or m.endswith("_pct"):
        return "%"
    if m.endswith("_bps"):
        return "B/s"
    if m.endswith("_ps"):
        return "/s"
    if "bytes" in m:
        return "B"
    return ""


def number(v: float) -> str:
    """3 significant digits, no exponent for everyday magnitudes, SI prefix above 10k."""
    a = abs(v)
    for scale, prefix in _SI:
        if a >= 10 * scale or (scale >= 1e6 and a >= scale):
            return f"{v / scale:.3g}{prefix}"
    if a >= 100 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.3g}"


def value(v: float, metric: str = "") -> str:
    """``v`` with the unit of ``metric``: ``64 %``, ``12.5MB/s``, ``0.25``."""
    u = unit_of(metric)
    if u == "%":
        return f"{v:.0f} %" if abs(v) >= 10 else f"{v:.2g} %"
    return number(v) + (u if u in ("B/s", "B") else (" " + u if u else ""))


def value_range(lo: float, hi: float, metric: str = "") -> str:
    """``12–18 %``: both ends in the unit of ``metric``, the unit said once. Percentages,
    bytes and rates are never negative, so the low end stops at zero."""
    u = unit_of(metric)
    if u:
        lo = max(lo, 0.0)
    if u == "%":
        fmt = "{:.0f}" if max(abs(lo), abs(hi)) >= 10 else "{:.2g}"
        return f"{fmt.format(lo)}–{fmt.format(hi)} %"
    return f"{number(lo)}–{value(hi, metric)}"


def duration(seconds: float) -> str:
    """``45s``, ``12m``, ``3h 20m``, ``2d 4h``: two units at most, never ``0s`` for a positive
    time below a second (``<1s``)."""
    s = int(round(max(seconds, 0.0)))
    if s == 0:
        return "<1s" if seconds > 0 else "0s"
    parts = []
    for size, name in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if s >= size:
            parts.append(f"{s // size}{name}")
            s %= size
        if len(parts) == 2:
            break
    return " ".join(parts)
