"""Incident (enter on an alert): the alert's facts, its metric's chart from 30 minutes before
the start, the host's log lines from 5 minutes before it (filtered in place), the top
processes at the start and now, and the host's other alerts, from one ``incident`` request
(plus ``history`` for the chart). Keys: ack, silence (prefilled), host, the event log at
the start, copy a summary for a ticket; escape goes back."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Header, Input, Static

from core.chart_data import step_for
from core.incident_text import summary
from tui.format import printable
from tui.messages import Reply
from tui.palette import style
from tui.screens.base import ConsoleScreen
from tui.widgets import incident_parts as parts
from tui.widgets.alert_table import AlertTable
from tui.widgets.incident_widgets import BEFORE_S, IncidentChart, IncidentLogs
from tui.widgets.panel import Panel

NO_CHART = ("host_down", "absent", "log")
KEYS = ("a ack  x silence  h host  e events at start  c copy summary  / filter logs  "
        "enter other alert  esc back")


class IncidentScreen(ConsoleScreen):
    CSS_PATH = "incident.tcss"
    AUTO_FOCUS = "#inc-scroll"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]  # two columns need 140
    BINDINGS = [
        Binding("h", "open_host", "Open host", tooltip="Incident: the host screen of its host"),
        Binding("e", "events_at_start", "Events at start",
                tooltip="Incident: the event log as it stood when the alert started"),
        Binding("c", "copy_summary", "Copy summary",
                tooltip="Incident: copy a one-paragraph summary for a ticket (and show it)"),
        Binding("i", "fields", "All fields", tooltip="Incident: every field of the alert"),
        Binding("r", "reload", "Reload", tooltip="Incident: ask the broker again"),
    ]

    def __init__(self, alert_id: str) -> None:
        super().__init__()
        self.alert_id = alert_id
        self._to_open: str | None = alert_id  # loaded when the screen is (re)shown
        self.incident: dict[str, Any] | None = None
        self.error = ""
        self.history: Any = None  # the history reply (a map: rollups and recent samples)
        self.step = "1m"
        self.complete = False  # the reply and the chart are drawn (the bench waits for it)
        self._asked = ""
        self._facts_version = -1
        self._history_asked = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Panel(id="inc-title")
        with VerticalScroll(id="inc-scroll"), Container(id="inc-body"):
            with Vertical(id="inc-left"):
                yield Static(id="inc-facts", markup=False)
                yield IncidentChart(id="inc-chart")
                yield IncidentLogs(id="inc-logbox")
            with Vertical(id="inc-right"):
                yield Static(id="inc-procs", markup=False)
                yield AlertTable(id="inc-others")
        yield Panel(Text(KEYS, style="dim"), id="inc-keys")

    def on_mount(self) -> None:
        for wid, title in (("#inc-chart", "chart"), ("#inc-logbox", "log lines"),
                           ("#inc-facts", "facts"), ("#inc-procs", "top processes"),
                           ("#inc-others", "other alerts on the host")):
            self.query_one(wid).border_title = Content(title)
        self.ready = True
        self.on_screen_resume()

    def open(self, alert_id: str) -> None:
        """Show ``alert_id`` when the screen is shown next (app.open_incident pushes it right
        after). Its requests leave and its widgets are updated now, before the push: the
        first paint of the screen is then the new incident's, not the last one's followed by
        a layout and a second paint."""
        self._to_open = alert_id
        if self.ready:
            self.on_screen_resume()

    def on_screen_resume(self) -> None:
        """Pushed again with a new alert (not back from a dialog over it: that keeps all)."""
        if self.ready and self._to_open is not None:
            alert_id, self._to_open = self._to_open, None
            self.query_one("#inc-filter", Input).value = ""
            self.query_one("#inc-scroll").scroll_home(animate=False)
            self.query_one("#inc-scroll").focus()
            self.load(alert_id)

    # ---------------------------------------------------------------- requests
    def load(self, alert_id: str) -> None:
        """Ask for the incident of ``alert_id`` (and the chart, once the start is known)."""
        self.alert_id, self.incident, self.error, self.history = alert_id, None, "", None
        self.complete = self._history_asked = False
        self._asked = alert_id
        self.query_one(IncidentChart).note("loading…")
        for wid in ("#inc-facts", "#inc-procs"):  # nothing of the last one
            self.query_one(wid, Static).update("")
        self.query_one(IncidentLogs).show(None)
        self.query_one("#inc-others", AlertTable).show([], self._now(), -2)
        self.console.call("incident", {"alert_id": alert_id},
                          lambda r: self._got(alert_id, r), on_error=lambda r: self._got(alert_id, r))
        known = self.console.model.alerts.get(alert_id)
        if known:  # the chart's request goes with it, not after its reply: one round trip
            self._ask_history(alert_id, known, self._now())
        self.show()

    def _got(self, alert_id: str, reply: Reply) -> None:
        if alert_id != self._asked or not self.is_mounted:
            return  # an older incident answered late
        if not reply.ok or not isinstance(reply.result, dict):
            self.error = reply.error or "incident: no reply"
            self.query_one(IncidentChart).note("")
            self.complete = True
            self.show()
            return
        self.incident = reply.result
        if not self._history_asked:
            self._ask_history(alert_id, self.alert,
                              float(reply.result.get("now") or self.console.now()))
        self.show()

    def _ask_history(self, alert_id: str, alert: dict[str, Any], now: float) -> None:
        self._history_asked = True
        metric = str(alert.get("metric") or "")
        if alert.get("kind") in NO_CHART or not metric or metric == "up":
            self.history = f"a {alert.get('kind')} alert has no metric to chart"
            return
        since = float(alert.get("started_at") or now) - BEFORE_S
        self.step = step_for(now - since)  # 1 min rollups are kept 2 days
        self.console.call("history", {"host": alert.get("host"), "metric": metric,
                                      "since": since, "until": now, "step": self.step,
                                      "recent": True},
                          lambda r: self._got_history(alert_id, r.result),
                          on_error=lambda r: self._got_history(alert_id, r.error or "?"))

    def _got_history(self, alert_id: str, points: Any) -> None:
        if alert_id != self._asked or not self.is_mounted:
            return
        self.history = points if isinstance(points, list | dict | str) else []
        if self.incident is not None:  # else the incident's reply draws it
            self.show_chart()

    @property
    def alert(self) -> dict[str, Any]:
        """The alert as the model has it now (acks and state move), else as the reply had it."""
        known = self.console.model.alerts.get(self.alert_id)
        return known or (self.incident or {}).get("alert") or {}

    # ---------------------------------------------------------------- drawing
    def show(self) -> None:
        title = self.query_one("#inc-title", Panel)
        if self.error:
            title.update(Text(printable(self.error), style=style("critical")))
            self.query_one("#inc-facts", Static).update(Text(
                "the broker could not build this incident (r: ask again, esc: back)",
                style="dim"))
            return
        if self.incident is None:
            title.update(Text(f"incident {self.alert_id}: loading…", style="dim"))
            return
        self._facts_version = -1
        self.refresh_data()
        self.show_logs()
        self.query_one("#inc-procs", Static).update(parts.processes(self.incident))
        self.show_chart()

    def current(self) -> dict[str, Any]:
        """The reply with the alert as it is now (an ack made here shows at once)."""
        return {**(self.incident or {}), "alert": self.alert, "now": self._now()}

    def _now(self) -> float:
        return self.console.now()

    def show_chart(self) -> None:
        if self.incident is not None:
            self.complete = self.query_one(IncidentChart).draw(
                self.alert, self.history, self._now(), self.step) or self.complete

    def show_logs(self) -> None:
        self.query_one(IncidentLogs).show(self.incident)

    def refresh_data(self) -> None:
        """Twice a second: the title's age and live value, acks, the chart's live tail."""
        if self.incident is None:
            return
        app, alert = self.console, self.alert
        live = app.model.live_value(alert)
        self.query_one("#inc-title", Panel).update(parts.title(alert, self._now(), live))
        host = app.model.hosts.get(str(alert.get("host", "")))
        if live is not None and host is not None and isinstance(self.history, list | dict):
            self.query_one(IncidentChart).append(str(alert.get("metric")),
                                                            host.last_seen, live)
        if app.model.alerts_version != self._facts_version:  # an ack, a silence, a resolve
            self._facts_version = app.model.alerts_version
            self.query_one("#inc-facts", Static).update(parts.facts(self.current(), self._now()))
        others = [a for a in app.model.sorted_alerts()
                  if a.get("host") == alert.get("host") and a.get("id") != self.alert_id] \
            or (self.incident.get("others") or [])
        self.query_one("#inc-others", AlertTable).show(others, self._now(),
                                                       app.model.alerts_version, app.model)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#inc-scroll").focus()

    # ---------------------------------------------------------------- the app's hooks
    def selected_alert(self) -> dict[str, Any] | None:
        table = self.query_one("#inc-others", AlertTable)
        if self.focused is table and table.selected_alert_id:
            return self.console.model.alerts.get(table.selected_alert_id)
        return self.alert or None

    def silence_matchers(self) -> list[str] | None:
        """The selected alert's own labels: host, rule and metric (a disk rule has one alert
        per mount)."""
        a = self.selected_alert()
        if not a:
            return None
        out = [f"host={a.get('host')}", f"rule={a.get('rule')}"]
        if a.get("metric") and a.get("kind") not in NO_CHART:
            out.append(f"metric={a['metric']}")
        return out

    def focus_search(self) -> bool:
        self.query_one("#inc-filter", Input).focus()
        return True

    def step_back(self) -> bool:
        box = self.query_one("#inc-filter", Input)
        if box.value or self.focused is box:
            box.value = ""
            self.query_one("#inc-scroll").focus()
            return True
        self.app.pop_screen()
        return True

    def open_selected(self) -> None:
        table = self.query_one("#inc-others", AlertTable)
        if self.focused is table and table.selected_alert_id and self.app.screen is self:
            self.load(table.selected_alert_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_selected()

    # ---------------------------------------------------------------- keys
    def action_open_host(self) -> None:
        host = self.alert.get("host")
        if host:
            self.console.selected_host = str(host)
            self.console.leave_incident("host")

    def action_events_at_start(self) -> None:
        start = self.alert.get("started_at")
        if isinstance(start, int | float):
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(start) + 1))
            self.console.leave_incident("events", f"until:{at}")

    def action_copy_summary(self) -> None:
        if self.incident is None:
            self.notify("the incident has not arrived yet", severity="warning")
            return
        from tui.screens.dialogs import SummaryDialog

        text = summary(self.current())
        self.app.copy_to_clipboard(text)
        self.app.push_screen(SummaryDialog(text))

    def action_fields(self) -> None:
        from tui.screens.dialogs import DetailDialog

        if self.alert:
            self.app.push_screen(DetailDialog(f"alert {self.alert_id}", self.alert))

    def action_reload(self) -> None:
        self.load(self.alert_id)
