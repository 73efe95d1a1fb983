"""Compare (v on the dashboard): one metric of every marked host on one chart, a coloured
series and a legend entry each. `space` on the dashboard marks and unmarks hosts; here `m`
steps through the metrics the marked hosts share and `<` `>` change the range."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header

from tui.format import printable
from tui.screens.base import ConsoleScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.metric_chart import MetricChart
from tui.widgets.panel import Panel

if TYPE_CHECKING:
    from tui.app import MonitorApp

DEFAULT_METRIC = "cpu.percent"


def toggle_mark(app: MonitorApp) -> None:
    """`space` on the dashboard: mark the selected host for the compare chart, or unmark it.
    The table's cursor row, not ``selected_host``: a burst (space down space) reaches this
    before the table's highlight message has updated the app."""
    from tui.widgets.host_table import HostTable

    tables = app.screen.query(HostTable)
    host = tables.first().selected_host if tables else app.selected_host
    if not host:
        return
    marked = app.marked_hosts
    if host in marked:
        marked.discard(host)
    else:
        marked.add(host)
    if tables:
        tables.first().show_mark(host)  # `*` in its row
    app.update_title()  # the header says how many are marked: no toast per key


def open_compare(app: MonitorApp) -> None:
    """`v` on the dashboard: the compare chart of the marked hosts."""
    hosts = sorted(h for h in app.marked_hosts if h in app.model.hosts)
    if not hosts:
        app.notify("mark hosts with space first, then v compares them", severity="warning",
                   timeout=3)
        return
    app.push_screen(CompareScreen(hosts))


class CompareScreen(ConsoleScreen):
    DEFAULT_CSS = """
    CompareScreen > #compare-title { height: 1; padding: 0 1; background: $boost; }
    CompareScreen > MetricChart { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("less_than_sign", "range(-1)", "Shorter range", key_display="<", show=False,
                tooltip="Chart: a shorter range (30d 7d 24h 6h 1h 15m)"),
        Binding("greater_than_sign", "range(1)", "Longer range", key_display=">", show=False,
                tooltip="Chart: a longer range (15m 1h 6h 24h 7d 30d)"),
        Binding("m", "next_metric", "Next metric", show=False,
                tooltip="Compare: the next metric the marked hosts share"),
    ]

    def __init__(self, hosts: list[str]) -> None:
        super().__init__()
        self.hosts = hosts
        self.metric = DEFAULT_METRIC

    def compose(self) -> ComposeResult:
        yield Header()
        yield Panel(id="compare-title")
        yield MetricChart(id="compare-chart")
        yield KeyBar()

    def on_mount(self) -> None:
        names = self.shared_metrics()
        if names and self.metric not in names:
            self.metric = names[0]
        self.ready = True
        self.refresh_data()

    def shared_metrics(self) -> list[str]:
        model = self.console.model
        sets = [set(model.hosts[h].metrics) for h in self.hosts if h in model.hosts]
        return sorted(set.intersection(*sets)) if sets else []

    def refresh_data(self) -> None:
        model = self.console.model
        chart = self.query_one(MetricChart)
        chart.show_metric(self.hosts, self.metric,
                          {h: sorted(model.hosts[h].sources) for h in self.hosts
                           if h in model.hosts})
        chart.tick(model)
        title = Text(no_wrap=True, overflow="crop")
        n = len(self.hosts)
        title.append(f"compare {n} host{'s' if n != 1 else ''}: ", style="bold")
        title.append(printable(", ".join(self.hosts)))
        title.append("   m metric · < > range · escape back", style="dim")
        self.query_one("#compare-title", Panel).update(title)

    def action_range(self, delta: int) -> None:
        self.query_one(MetricChart).step_range(delta)

    def action_next_metric(self) -> None:
        names = self.shared_metrics()
        if not names:
            return
        i = names.index(self.metric) + 1 if self.metric in names else 0
        self.metric = names[i % len(names)]
        self.refresh_data()

    def step_back(self) -> bool:
        self.app.pop_screen()
        return True
