"""The host table's columns: what each shows for a host, how it sorts, and which are in
the full and the compact layout (tui/widgets/host_table.py draws them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from tui.format import age, level, pct, rate, sparkline
from tui.model import FleetModel, HostView
from tui.palette import style

SPARK_N = 8  # samples in the trend column: the host's last CPU samples, oldest first


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    flex: bool = False  # takes the width left over (the host name), up to ``MAX_FLEX``
    sortable: bool = True


MAX_FLEX = 30
# "mark": `*` before the name of a host marked with space for the compare chart (v)
FULL = [Column("dot", " ", 1), Column("mark", " ", 1, sortable=False),
        Column("host", "host", 12, flex=True), Column("cpu", "cpu", 5),
        Column("spark", "trend", SPARK_N, sortable=False), Column("mem", "mem", 5),
        Column("disk", "disk", 5), Column("rx", "rx/s", 5), Column("tx", "tx/s", 5),
        Column("load", "load", 5), Column("alerts", "al", 2), Column("seen", "seen", 5)]
COMPACT = [Column("dot", " ", 1), Column("mark", " ", 1, sortable=False),
           Column("host", "host", 10, flex=True),
           Column("cpu", "cpu", 4), Column("spark", "trend", SPARK_N, sortable=False),
           Column("mem", "mem", 4), Column("disk", "dsk", 4), Column("alerts", "al", 2)]
COLUMNS = [(c.key, c.label, c.width) for c in FULL]  # (key, label, width), as before
MARK = "*"  # a marked host, as Midnight Commander marks a file
SORTABLE = [c.key for c in FULL if c.sortable]
LABELS = {c.key: c.label for c in FULL}
# the direct sort keys (htop's): column, key, description
SORT_KEYS = [("cpu", "P", "Sort by CPU"), ("mem", "M", "Sort by memory"),
             ("alerts", "A", "Sort by alerts"), ("host", "N", "Sort by name")]


def sort_value(model: FleetModel, host: HostView, column: str) -> Any:
    m = host.metrics
    if column in ("host", "dot"):
        return (host.status != "down", host.name) if column == "dot" else host.name
    if column == "disk":
        return host.busiest_disk()[1] or -1.0
    if column in ("rx", "tx"):
        return host.net(column) or -1.0
    if column == "alerts":
        return model.host_alert_count(host.name)
    if column == "seen":
        return -host.last_seen
    key = {"cpu": "cpu.percent", "mem": "mem.percent", "load": "load.1"}[column]
    return m.get(key, -1.0)


def sort_key(model: FleetModel, column: str) -> Callable[[HostView], Any]:
    """``sort_value`` as one key function for a whole sort (10,000 hosts in ~10 ms)."""
    if column == "dot":
        return lambda h: (h.status != "down", h.name)
    if column == "host":
        return lambda h: h.name
    if column == "disk":
        return lambda h: h.busiest_disk()[1] or -1.0
    if column in ("rx", "tx"):
        return lambda h: h.net(column) or -1.0
    if column == "alerts":
        model.host_alert_count("")  # counted once for the sort
        counts = model._host_counts
        return lambda h: counts.get(h.name, 0)
    if column == "seen":
        return lambda h: -h.last_seen
    key = {"cpu": "cpu.percent", "mem": "mem.percent", "load": "load.1"}[column]
    return lambda h: h.metrics.get(key, -1.0)


def figure_getter(model: FleetModel, host: HostView, now: float
                  ) -> Callable[[str], float | None]:
    """The filter's figures (core/hostquery.py FIGURES) of a host, from what the model holds:
    its own metrics when followed, the fleet digest's otherwise."""
    def get(name: str) -> float | None:
        if name == "cpu":
            return host.metrics.get("cpu.percent")
        if name == "mem":
            return host.metrics.get("mem.percent")
        if name == "load":
            return host.metrics.get("load.1")
        if name == "disk":
            return host.busiest_disk()[1]
        if name in ("rx", "tx"):
            return host.net(name)
        if name == "alerts":
            return float(model.host_alert_count(host.name))
        if name == "age":
            return max(0.0, now - host.last_seen)
        return None
    return get


def mark_cell(marked: bool) -> Text:
    return Text(MARK, style=f"bold {style('accent')}".strip()) if marked else Text("")


def row_cells(model: FleetModel, host: HostView, now: float, compact: bool = False,
              marked: bool = False) -> tuple[Any, ...]:
    """The cells of a host's row, in the order of ``FULL`` (or ``COMPACT``); ``marked``:
    the host is marked for the compare chart."""
    m = host.metrics
    down = host.status == "down"
    dot = Text("○", style=style("critical")) if down else Text("●", style=style("ok"))
    if host.status == "unknown":  # rewound to a moment it sent nothing (tui/rewind.py)
        dot = Text("?", style="dim")
    n_alerts = model.host_alert_count(host.name)

    def gauge(family: str, value: float | None) -> Text:
        lvl = level(family, value)
        return Text(pct(value), style="" if lvl == "ok" else style(lvl), justify="right")

    cpu = m.get("cpu.percent")
    trend = host.history.get("cpu.percent")
    spark = Text(sparkline(list(trend)[-SPARK_N:], SPARK_N, 0.0, 100.0) if trend else "",
                 style=style(level("cpu", cpu)) if level("cpu", cpu) != "ok" else "dim")
    alerts = Text(str(n_alerts) if n_alerts else "", style=style("critical"), justify="right")
    name = Text(host.name, style="dim" if down else "")
    if compact:
        return (dot, mark_cell(marked), name, gauge("cpu", cpu), spark,
                gauge("mem", m.get("mem.percent")), gauge("disk", host.busiest_disk()[1]),
                alerts)
    since = now - host.last_seen
    seen = "now" if since < 3 and not down else age(since)
    if host.status == "unknown":
        seen = "-"
    return (dot, mark_cell(marked), name, gauge("cpu", cpu), spark,
            gauge("mem", m.get("mem.percent")), gauge("disk", host.busiest_disk()[1]),
            Text(rate(host.net("rx")), justify="right"),
            Text(rate(host.net("tx")), justify="right"),
            Text(f"{m['load.1']:.1f}" if "load.1" in m else "-", justify="right"),
            alerts, Text(seen, style=style("critical") if down else "dim", justify="right"))
