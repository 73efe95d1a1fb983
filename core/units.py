"""Units of the metrics and one formatter for them: monitor-ctl, notifications and the TUI.

Every metric name maps to a unit (``unit_of``): ``B`` (bytes, IEC prefixes: KiB, MiB...),
``B/s`` (bytes per second, SI prefixes: kB/s, MB/s...), ``%``, ``s`` (a duration, shown as
5s, 3m, 2.5h, 4d), or ``count`` (SI prefixes k, M, G for large counts). ``fmt`` never cuts a
value: it chooses a prefix so the figure stays short (at most 4 significant characters plus
the unit), and a caller that must fit a column sizes the column to what ``fmt`` returns.
"""

from __future__ import annotations

import math

UNITS = ("B", "B/s", "%", "s", "count")

# name suffix or exact name -> unit; the first match wins (agents/system.py names them)
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_bps", "B/s"), ("_bytes_per_s", "B/s"), (".percent", "%"), ("_percent", "%"),
    ("_bytes", "B"), (".bytes", "B"), (".total", "B"), (".used", "B"), (".free", "B"),
    (".available", "B"), ("_seconds", "s"), (".uptime", "s"),
)
_EXACT = {"uptime": "s", "cpu.percent": "%", "up": "count"}

_IEC = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_SI = ("", "k", "M", "G", "T", "P", "E")


def unit_of(metric: str) -> str:
    """The unit of a metric name: one of ``UNITS`` (``count`` when nothing says otherwise)."""
    if metric in _EXACT:
        return _EXACT[metric]
    if metric.startswith("cpu.") and metric != "cpu.count":
        return "%"  # cpu.user, cpu.iowait, cpu.3.percent...
    for suffix, unit in _SUFFIXES:
        if metric.endswith(suffix):
            return unit
    return "count"


def _scaled(value: float, base: float, prefixes: tuple[str, ...]) -> tuple[float, str]:
    mag, i = abs(value), 0
    while mag >= base * 0.9995 and i < len(prefixes) - 1:  # 999.96 rounds to 1.00 k
        mag /= base
        i += 1
    return math.copysign(mag, value), prefixes[i]


def _short(v: float) -> str:
    """Three significant figures at most (1023, 23.6, 1.5, 0.25), never an exponent."""
    return f"{v:.0f}" if abs(v) >= 99.95 else f"{v:.3g}"


def duration(seconds: float) -> str:
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
        return duration(v)
    if unit == "B":
        m, prefix = _scaled(v, 1024.0, _IEC)
        return f"{_short(m)} {prefix}B"
    if unit == "B/s":
        m, prefix = _scaled(v, 1000.0, _SI)
        return f"{_short(m)} {prefix}B/s"
    m, prefix = _scaled(v, 1000.0, _SI)
    return f"{_short(m)}{prefix}" if prefix else _short(m)


def fmt_metric(metric: str, value: float | int | None) -> str:
    """``fmt`` with the unit of ``metric``."""
    return fmt(value, unit_of(metric))
