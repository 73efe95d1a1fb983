"""Alerts (2): every active alert grouped by severity, resolved ones dimmed, detail + timeline."""

from __future__ import annotations

import functools
import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import DataTable, Header

from tui.format import SEV_LABEL, age, alert_value, clock, printable
from tui.messages import Reply
from tui.model import FleetModel
from tui.palette import style
from tui.screens.base import ConsoleScreen
from tui.widgets.alert_table import AlertTable, flags
from tui.widgets.keybar import KeyBar
from tui.widgets.panel import Panel

TIMELINE_KEEP_S = 60.0  # then fetched again: the live tail covers only what this console saw


def alert_detail(alert: dict[str, Any] | None, timeline: list[dict[str, Any]] | None,
                 now: float, model: FleetModel | None = None) -> Text:
    if alert is None:
        return Text("select an alert to see its details and timeline", style="dim")
    t = Text()
    t.append(f"{SEV_LABEL.get(alert.get('severity', ''), '')} {alert.get('rule')} ", style="bold")
    t.append(f"on {alert.get('host')}  {alert.get('state')} for "
             f"{age(now - float(alert.get('started_at') or now))}  "
             f"{alert_value(alert, model.live_value(alert) if model else None)}")
    if flags(alert):
        t.append(f"  [{flags(alert)}]", style=style("flag"))
    t.append("\n")
    if alert.get("summary") or alert.get("description"):
        t.append(printable(f"{alert.get('summary', '')} — {alert.get('description', '')}")
                 + "\n", style="dim")
    ack = alert.get("ack") or {}
    if alert.get("acked"):
        t.append(printable(f"acked by {ack.get('author') or '?'}"
                           f"{': ' + ack['comment'] if ack.get('comment') else ''}"
                           f"{' (sticky)' if ack.get('sticky') else ''}") + "\n")
    if alert.get("silenced"):
        t.append(f"silenced by {', '.join(alert['silenced'])}\n")
    t.append("timeline\n", style="bold underline")
    if timeline is None:
        t.append("loading…", style="dim")
    elif not timeline:
        t.append("no events for this alert in the event log", style="dim")
    for event in sorted(timeline or [], key=lambda e: e.get("ts", 0.0)):
        t.append(f"{clock(event.get('ts', 0.0))} ", style="dim")
        t.append(f"{event.get('kind', ''):<8} ", style=style("accent"))
        t.append(printable(event.get("message", "")) + "\n")
    t.rstrip()
    return t


class AlertsScreen(ConsoleScreen):
    CSS_PATH = "alerts.tcss"
    AUTO_FOCUS = "#alerts"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Container(id="body"):
            yield AlertTable(grouped=True, id="alerts")
            yield Panel(id="detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.timelines: dict[str, list[dict[str, Any]] | None] = {}
        self._timelines_at = time.monotonic()
        self.query_one("#detail").border_title = "detail"
        self.ready = True
        self.refresh_data()

    def on_screen_resume(self) -> None:
        """Timelines are kept for a minute: coming back from a dialog or another screen
        shows the one fetched (plus the live tail) at once, not "loading…" and a search."""
        if not self.resumable:
            return
        now = time.monotonic()
        if now - self._timelines_at > TIMELINE_KEEP_S:
            self.timelines.clear()
            self._timelines_at = now
        self.refresh_data()

    def refresh_data(self) -> None:
        app = self.console
        table = self.query_one(AlertTable)
        table.show(app.model.sorted_alerts(), app.now(), app.model.alerts_version, app.model)
        self.show_detail()

    def selected_alert(self) -> dict[str, Any] | None:
        alert_id = self.query_one(AlertTable).selected_alert_id
        return self.console.model.alerts.get(alert_id) if alert_id else None

    def select_alert(self, alert_id: str) -> None:
        table = self.query_one(AlertTable)
        table.focus()
        try:
            table.move_cursor(row=table.get_row_index(alert_id), animate=False)
        except Exception:  # the alert went away meanwhile
            return

    def show_detail(self) -> None:
        app = self.console
        alert = self.selected_alert()
        timeline = None
        if alert is not None:
            timeline = self.timelines.get(alert["id"])
            if timeline is None and alert["id"] not in self.timelines:
                self.timelines[alert["id"]] = None
                aid = alert["id"]
                app.call("search", {"query": f"alert:{aid}", "limit": 50},
                         functools.partial(self._got_timeline_reply, aid))
            if timeline is not None:  # plus what happened since the search: the live tail
                seen = {e.get("id") for e in timeline}
                timeline = timeline + [e for e in app.model.events if e.get("alert_id") ==
                                       alert["id"] and e.get("id") not in seen]
        text = alert_detail(alert, timeline, app.now(), app.model)
        self.query_one("#detail", Panel).update(text)  # repainted only when it changed

    def _got_timeline_reply(self, alert_id: str, reply: Reply) -> None:
        self._got_timeline(alert_id, reply.result)

    def _got_timeline(self, alert_id: str, events: Any) -> None:
        self.timelines[alert_id] = events if isinstance(events, list) else []
        self.show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_selected()

    def open_selected(self) -> None:
        alert = self.selected_alert()
        if alert is not None:
            self.console.open_incident(alert["id"], self)
