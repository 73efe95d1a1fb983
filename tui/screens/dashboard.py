"""Dashboard (1): summary line, host table, gauges for the selected host, alert feed."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import DataTable, Header, Input, Static

from core.query_tokens import QueryError
from tui import prefs
from tui.screens.base import ConsoleScreen
from tui.widgets.alert_table import AlertTable
from tui.widgets.gauges import HostGauges
from tui.widgets.host_columns import SORT_KEYS, SORTABLE
from tui.widgets.host_table import HostTable
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
        *[Binding(key, f"sort('{col}')", text, show=False,
                  tooltip=f"{text} (again: reverse)") for col, key, text in SORT_KEYS],
        Binding("c", "compact", "Compact", show=False,
                tooltip="Compact rows: more hosts, fewer columns (remembered)"),
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
        yield Input(placeholder="filter: web host:db-* label:team=db cpu>80 status:down "
                    "(escape clears)", id="filter", compact=True)
        yield Static("", id="filter-error", markup=False)
        with Container(id="body"):
            yield HostTable(id="hosts")
            yield HostGauges(id="gauges")
        yield AlertTable(id="feed")
        yield KeyBar()

    def on_mount(self) -> None:
        self._last_resort = 0.0
        self._prefs_path = self.console.state_file
        self._prefs_warned = False
        self.query_one(HostTable).marked = self.console.marked_hosts  # the same set
        if self._prefs_path is not None:
            saved, warning = prefs.load(self._prefs_path, SORTABLE)
            if warning:
                self._warn(warning)
            table = self.query_one(HostTable)
            table.set_sort(saved.sort, saved.reverse)
            self._show_compact(saved.compact)
        self.ready = True

    def _warn(self, warning: str) -> None:
        if not self._prefs_warned:  # one line, not one a key
            self._prefs_warned = True
            self.console.notify(warning, severity="warning", timeout=8)

    def _save_prefs(self) -> None:
        if self._prefs_path is None:
            return
        table = self.query_one(HostTable)
        warning = prefs.save(self._prefs_path, prefs.Prefs(table.sort_column, table.sort_reverse,
                                                           table.compact))
        if warning:
            self._warn(warning)

    def _show_compact(self, compact: bool) -> None:
        self.query_one(HostTable).set_compact(compact)
        self.set_class(compact, "-compact")

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
                self.console.open_incident(alert_id, self)
        elif self.console.selected_host:
            self.console.switch_mode("host")

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
            self.query_one("#filter-error", Static).display = False
            self.query_one(HostTable).focus()
            return True
        return False

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            error = self.query_one("#filter-error", Static)
            try:
                self.query_one(HostTable).set_filter(event.value)
            except QueryError as exc:  # the filter before stays
                kept = self.query_one(HostTable).filter
                error.update(f"filter: {exc}" + (f"; still filtering by '{kept}'" if kept else ""))
                error.display = True
                return
            if error.display:
                error.display = False
            self._sync_table()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value:
                event.input.display = False
            self.query_one(HostTable).focus()

    def action_cycle_sort(self) -> None:
        table = self.query_one(HostTable)
        keys = [c.key for c in table.columns if c.sortable]
        at = keys.index(table.sort_column) if table.sort_column in keys else -1
        table.set_sort(keys[(at + 1) % len(keys)])
        self._sorted()

    def action_reverse_sort(self) -> None:
        table = self.query_one(HostTable)
        table.set_sort(table.sort_column)
        self._sorted()

    def action_sort(self, column: str) -> None:
        self.query_one(HostTable).set_sort(column)
        self._sorted()

    def action_compact(self) -> None:
        self._show_compact(not self.query_one(HostTable).compact)
        self._sorted()

    def _sorted(self) -> None:
        self._sync_table()
        self._save_prefs()

    def _sync_table(self) -> None:
        """A key's repaint: the table alone (the feed, the gauges and the summary line catch
        up on the next tick; at 10,000 hosts they cost as much as the re-sort)."""
        app = self.console
        self.query_one(HostTable).sync(app.model, app.now(), app.model.take_dirty(),
                                       app.selected_host)

    def on_host_table_sort_changed(self, event: HostTable.SortChanged) -> None:
        self._sorted()

    def on_host_table_host_selected(self, event: HostTable.HostSelected) -> None:
        self.console.selected_host = event.host
        self.open_selected()
