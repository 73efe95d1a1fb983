"""Dashboard (1): summary line, host table, gauges for the selected host, alert feed."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import DataTable, Header, Input

from tui.screens.base import ConsoleScreen
from tui.widgets.alert_table import AlertTable
from tui.widgets.gauges import HostGauges
from tui.widgets.host_table import COLUMNS, HostTable
from tui.widgets.keybar import KeyBar
from tui.widgets.summary import SummaryBar

RESORT_S = 5.0
FEED_MAX = 100  # the worst alerts; the alerts screen (2) has them all


class DashboardScreen(ConsoleScreen):
    CSS_PATH = "dashboard.tcss"
    AUTO_FOCUS = "#hosts"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("o", "cycle_sort", "Sort", show=False,
                tooltip="Sort the hosts by the next column (or click a header)"),
        Binding("r", "reverse_sort", "Reverse", show=False, tooltip="Reverse the sort order"),
        Binding("F", "app.forget", "Forget host", show=False,
                tooltip="Retire the selected host (its alerts resolve)"),
        Binding("space", "app.mark_host", "Mark host", show=False,
                tooltip="Mark or unmark the selected host for the compare chart (v)"),
        Binding("v", "app.compare", "Compare", show=False,
                tooltip="Chart one metric of every marked host together"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield SummaryBar(id="summary")
        yield Input(placeholder="filter hosts (escape clears)", id="filter", compact=True)
        with Container(id="body"):
            yield HostTable(id="hosts")
            yield HostGauges(id="gauges")
        yield AlertTable(id="feed")
        yield KeyBar()

    def on_mount(self) -> None:
        self._last_resort = 0.0
        self.ready = True

    def on_screen_resume(self) -> None:
        if not self.ready:
            return
        self.refresh_data()

    def refresh_data(self) -> None:
        app = self.console
        model, now = app.model, app.now()
        table = self.query_one(HostTable)
        if table.sort_column not in ("host", "dot") and now - self._last_resort > RESORT_S:
            table.resort()
            self._last_resort = now
        table.sync(model, now, model.take_dirty(), app.selected_host)
        if app.selected_host not in model.hosts and table.selected_host:
            app.selected_host = table.selected_host
        self.query_one(HostGauges).show(model.hosts.get(app.selected_host or ""), now,
                                        app.thresholds)
        feed = self.query_one(AlertTable)
        feed.show(model.active_alerts()[:FEED_MAX], now, model.alerts_version, model)
        self.query_one(SummaryBar).show(model, app.connections, app.paused)

    # ---------------------------------------------------------------- selection
    def on_host_table_host_highlighted(self, event: HostTable.HostHighlighted) -> None:
        self.console.selected_host = event.host
        if not self.app.is_running:
            return
        model = self.console.model
        self.query_one(HostGauges).show(model.hosts.get(event.host), self.console.now(),
                                        self.console.thresholds)

    def selected_alert(self) -> dict[str, Any] | None:
        model = self.console.model
        feed = self.query_one(AlertTable)
        if self.focused is feed and feed.selected_alert_id:
            return model.alerts.get(feed.selected_alert_id)
        host = self.console.selected_host  # otherwise: the worst alert of the selected host
        for alert in model.active_alerts():
            if alert.get("host") == host:
                return alert
        return None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_selected()

    def open_selected(self) -> None:
        if self.focused is self.query_one(AlertTable):
            alert_id = self.query_one(AlertTable).selected_alert_id
            if alert_id:
                self.console.switch_mode("alerts")
                self.app.call_after_refresh(self._select_alert, alert_id)
        elif self.console.selected_host:
            self.console.switch_mode("host")

    def _select_alert(self, alert_id: str) -> None:
        screen = self.app.screen
        if isinstance(screen, ConsoleScreen):
            screen.select_alert(alert_id)

    # ---------------------------------------------------------------- filter and sort
    def focus_search(self) -> bool:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        return True

    def step_back(self) -> bool:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(HostTable).focus()
            return True
        return False

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(HostTable).set_filter(event.value)
            self.refresh_data()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value:
                event.input.display = False
            self.query_one(HostTable).focus()

    def action_cycle_sort(self) -> None:
        table = self.query_one(HostTable)
        keys = [k for k, _, _ in COLUMNS]
        table.set_sort(keys[(keys.index(table.sort_column) + 1) % len(keys)])
        self.refresh_data()

    def action_reverse_sort(self) -> None:
        table = self.query_one(HostTable)
        table.set_sort(table.sort_column)
        self.refresh_data()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.refresh_data()
