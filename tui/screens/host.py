"""Host detail (4): every metric with its live sparkline, a trend chart of the highlighted
metric (15 m to 30 d, `<` `>`), alerts, recent logs."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.widgets import DataTable, Header

from core.units import fmt_metric, unit_of
from tui.format import clock, printable, sparkline
from tui.palette import style
from tui.screens.base import ConsoleScreen
from tui.widgets.alert_table import AlertTable
from tui.widgets.gauges import gauge_lines
from tui.widgets.keybar import KeyBar
from tui.widgets.metric_chart import MetricChart
from tui.widgets.panel import Panel
from tui.widgets.rows import RowTable


def metric_value(name: str, value: float) -> str:
    """Formatted by the metric's unit (core/units.py), never cut to a column."""
    return fmt_metric(name, value)


class HostScreen(ConsoleScreen):
    CSS_PATH = "host.tcss"
    AUTO_FOCUS = "#metrics"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("less_than_sign", "range(-1)", "Shorter range", key_display="<", show=False,
                tooltip="Chart: a shorter range (30d 7d 24h 6h 1h 15m)"),
        Binding("greater_than_sign", "range(1)", "Longer range", key_display=">", show=False,
                tooltip="Chart: a longer range (15m 1h 6h 24h 7d 30d)"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Panel(id="title")
        with Container(id="body"):
            yield RowTable(id="metrics", cursor_type="row")
            with Vertical(id="side"):
                yield MetricChart(id="history")
                yield AlertTable(id="host-alerts")
                yield Panel(id="logs")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#metrics", DataTable)
        table.add_column("metric", key="name", width=20)
        table.add_column("value", key="value")  # as wide as the widest value: never cut
        table.add_column("live", key="spark")
        self.host: str | None = None
        self.metric = "cpu.percent"
        self.logs: dict[str, list[dict[str, Any]] | None] = {}
        self._names: list[str] = []
        self.ready = True
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if not self.resumable:
            return
        self.query_one(MetricChart).reset()
        self.logs.clear()
        self.refresh_data()

    def refresh_data(self) -> None:
        app = self.console
        name = app.selected_host
        host = app.model.hosts.get(name or "")
        title = self.query_one("#title", Panel)
        if host is None:
            title.update(Text("no host selected: pick one on the dashboard (1)", style="dim"))
            return
        if name != self.host:
            self.host, self._names = name, []
        now = app.now()
        title.update(gauge_lines(host, 200, now).split("\n")[0])
        self._fill_metrics(host)
        chart = self.query_one(MetricChart)
        chart.show_metric([host.name], self.metric, {host.name: sorted(host.sources)})
        chart.tick(app.model)
        alerts = [a for a in app.model.sorted_alerts() if a.get("host") == host.name]
        self.query_one(AlertTable).show(alerts, now, app.model.alerts_version, app.model)
        self._show_logs(host.name)

    def _fill_metrics(self, host: Any) -> None:
        table = self.query_one("#metrics", RowTable)
        names = sorted(host.metrics)
        width = self.size.width if self.size.width < 120 else self.size.width // 2
        spark_w = max(8, width - 38)
        cells = {n: (metric_value(n, host.metrics[n]),
                     sparkline(host.history.get(n, ()), spark_w,
                               lo=0.0, hi=100.0 if unit_of(n) == "%" else None))
                 for n in names}
        table.fit_column("value", [v for v, _ in cells.values()], 5, 16)
        if names != self._names:
            keep = self.metric
            table.clear()
            for n in names:
                table.add_row(Text(printable(n)), cells[n][0], Text(cells[n][1], style=style("accent")), key=n)
            self._names = names
            if keep in names:
                table.move_cursor(row=names.index(keep), animate=False)
            return
        for n in names:
            value, spark = cells[n]
            if table.get_cell(n, "value") != value:
                table.update_cell(n, "value", value)
            if table.get_cell(n, "spark").plain != spark:
                table.update_cell(n, "spark", Text(spark, style=style("accent")))

    def _show_logs(self, host: str) -> None:
        app = self.console
        if host not in self.logs:
            self.logs[host] = None
            app.call("search", {"query": f"host:{host} kind:log", "limit": 20,
                                **app.rewind.before()},  # rewound: the lines before it
                     lambda r: self._got_logs(host, r.result))
        lines = self.logs[host]
        box = self.query_one("#logs", Panel)
        box.border_title = "recent logs"
        if lines is None:
            box.update(Text("loading…", style="dim"))
        elif not lines:
            box.update(Text("no log lines from this host", style="dim"))
        else:
            t = Text()
            for e in sorted(lines, key=lambda e: e.get("ts", 0.0))[-10:]:
                t.append(f"{clock(e.get('ts', 0.0))} ", style="dim")
                t.append(printable(e.get("message", "")) + "\n")
            t.rstrip()
            box.update(t)

    def _got_logs(self, host: str, events: Any) -> None:
        self.logs[host] = events if isinstance(events, list) else []
        if self.host == host and self.is_attached:
            self._show_logs(host)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # an emptied table highlights "no row": row_key None, cursor_row -1
        if event.data_table.id == "metrics" and event.row_key is not None \
                and event.row_key.value:
            self.metric = event.row_key.value
            if self.host:
                host = self.console.model.hosts.get(self.host)
                self.query_one(MetricChart).show_metric(
                    [self.host], self.metric, {self.host: sorted(host.sources) if host else []})

    def action_range(self, delta: int) -> None:
        self.query_one(MetricChart).step_range(delta)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_selected()

    def selected_alert(self) -> dict[str, Any] | None:
        table = self.query_one(AlertTable)
        alert_id = table.selected_alert_id
        if alert_id is None:
            alerts = [a for a in self.console.model.active_alerts()
                      if a.get("host") == self.host]
            return alerts[0] if alerts else None
        return self.console.model.alerts.get(alert_id)

    def open_selected(self) -> None:
        if self.focused is self.query_one(AlertTable):
            alert = self.selected_alert()
            if alert is not None:
                self.console.open_incident(alert["id"], self)
