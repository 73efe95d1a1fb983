"""Units of the metrics and how to write their values for people: one home for monitor-ctl,
the notification templates, the alert summaries and the TUI.

``unit_of`` maps a metric name to its unit: ``B`` (bytes), ``B/s`` (bytes per second), ``%``,
``s`` (a duration), ``/s`` (a rate of things), or ``count``.

Two writers share that table:
- ``fmt``/``fmt_metric`` (the TUI, monitor-ctl): never cut a value; a prefix keeps the figure
  short (IEC for bytes: ``23.6 GiB``; SI for rates and counts: ``1.2 MB/s``, ``1.23M``); a
  caller that fits a column sizes the column to what they return.
- ``value``/``value_range``/``duration`` (notification templates, alert summaries): compact
  prose, ``64 %``, ``12.5MB/s``, ``3h 20m``.
"""

from __future__ import annotations

import math

UNITS = ("B", "B/s", "%", "s", "/s", "count")

# name suffix -> unit; the first match wins (agents/system.py names the metrics)
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_bps", "B/s"), ("_bytes_per_s", "B/s"), ("percent", "%"), ("_pct", "%"),
    ("_pps", "/s"), ("_iops", "/s"), ("_ps", "/s"),
    ("_bytes", "B"), (".bytes", "B"), (".total", "B"), (".used", "B"), (".free", "B"),
    (".available", "B"), ("_seconds", "s"), (".uptime", "s"),
)
_EXACT = {"uptime": "s", "up": "count"}

_IEC = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_SI_PREFIXES = ("", "k", "M", "G", "T", "P", "E")
_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def unit_of(metric: str) -> str:
    """The unit of a metric name: one of ``UNITS`` (``count`` when nothing says otherwise)."""
    m = metric.lower()
    if m in _EXACT:
        return _EXACT[m]
    if m.startswith("cpu.") and m != "cpu.count":
        return "%"  # cpu.user, cpu.iowait, cpu.3.percent...
    for suffix, unit in _SUFFIXES:
        if m.endswith(suffix):
            return unit
    return "B" if "bytes" in m else "count"


# ------------------------------------------------------------------ fmt: the TUI, monitor-ctl
def _scaled(value: float, base: float, prefixes: tuple[str, ...]) -> tuple[float, str]:
    mag, i = abs(value), 0
    while mag >= base * 0.9995 and i < len(prefixes) - 1:  # 999.96 rounds to 1.00 k
        mag /= base
        i += 1
    return math.copysign(mag, value), prefixes[i]


def _short(v: float) -> str:
    """Three significant figures at most (1023, 23.6, 1.5, 0.25), never an exponent."""
    return f"{v:.0f}" if abs(v) >= 99.95 else f"{v:.3g}"


def short_duration(seconds: float) -> str:
    """5s, 3m, 2.5h, 4d (one decimal only while the number is small)."""
    s = abs(seconds)
    sign = "-" if seconds < 0 else ""
    for size, suffix in ((86400.0, "d"), (3600.0, "h"), (60.0, "m")):
        if s >= size:
            v = s / size
            return f"{sign}{v:.1f}{suffix}" if v < 10 and v != int(v) else f"{sign}{v:.0f}{suffix}"
    return f"{sign}{s:.0f}s" if s >= 1 or s == 0 else f"{sign}{s * 1000:.0f}ms"


def fmt(value: float | int | None, unit: str) -> str:
    """``value`` in ``unit`` for a person: ``23.6 GiB``, ``1.2 MB/s``, ``97.3%``, ``2.5h``."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    if unit == "%":
        return f"{v:.1f}%" if abs(v) < 100 else f"{v:.0f}%"
    if unit == "s":
        return short_duration(v)
    if unit == "B":
        m, prefix = _scaled(v, 1024.0, _IEC)
        return f"{_short(m)} {prefix}B"
    if unit == "B/s":
        m, prefix = _scaled(v, 1000.0, _SI_PREFIXES)
        return f"{_short(m)} {prefix}B/s"
    m, prefix = _scaled(v, 1000.0, _SI_PREFIXES)
    return f"{_short(m)}{prefix}" if prefix else _short(m)


def fmt_metric(metric: str, value: float | int | None) -> str:
    """``fmt`` with the unit of ``metric``."""
    return fmt(value, unit_of(metric))


# ------------------------------------------------------------------ prose: templates, summaries
def _prose_unit(metric: str) -> str:
    """The unit prose writes after a number: none for plain counts and durations."""
    u = unit_of(metric)
    return "" if u in ("count", "s") else u


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
    u = _prose_unit(metric)
    if u == "%":
        return f"{v:.0f} %" if abs(v) >= 10 else f"{v:.2g} %"
    return number(v) + (u if u in ("B/s", "B") else (" " + u if u else ""))


def value_range(lo: float, hi: float, metric: str = "") -> str:
    """``12–18 %``: both ends in the unit of ``metric``, the unit said once. Percentages,
    bytes and rates are never negative, so the low end stops at zero."""
    u = _prose_unit(metric)
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
