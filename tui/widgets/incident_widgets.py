"""The incident view's two live widgets: the chart around the start, the filtered log box."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Static

from core.chart_data import series_of
from core.units import unit_of
from tui.format import printable
from tui.palette import style
from tui.widgets import incident_parts as parts
from tui.widgets.trend_chart import TrendChart

BEFORE_S = 1800.0  # the chart starts this long before the alert


class IncidentChart(TrendChart):
    """The alert's metric from ``BEFORE_S`` before its start to now: the rollups' min..max
    band and average, the threshold, the start marked; the live tail appended."""

    def draw(self, alert: dict[str, Any], history: Any, now: float, step: str = "1m") -> bool:
        """True once there is something final to show (the chart, or why there is none)."""
        metric = str(alert.get("metric") or "")
        self.border_title = Content(f"{metric or 'chart'} from 30 min before the start")
        if history is None:
            self.note("loading history…")
            return False
        if isinstance(history, str):
            self.note(printable(f"no chart: {history}"), style=style("muted"))
            return True
        start = float(alert.get("started_at") or now)
        threshold = alert.get("threshold")
        series = series_of(metric, history, step)  # rollups, then the live samples since
        self.show([series], unit=unit_of(metric), t0=start - BEFORE_S, t1=max(now, start + 60),
                  thresholds=[(float(threshold), str(alert.get("severity", "")))]
                  if isinstance(threshold, int | float) else [],
                  marks=[(start, "start")])
        return True


class IncidentLogs(Vertical):
    """The host's log lines with a filter box: typing filters them in place."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.incident: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter the log lines (esc clears)", id="inc-filter",
                    compact=True)
        with VerticalScroll(id="inc-logscroll"):
            yield Static(id="inc-logs", markup=False)

    def show(self, incident: dict[str, Any] | None) -> None:
        self.incident = incident
        if incident is None:
            self.query_one("#inc-logs", Static).update("")
            return
        needle = self.query_one("#inc-filter", Input).value.strip()
        text, shown = parts.log_lines(incident, needle)
        self.query_one("#inc-logs", Static).update(text)
        total = len(incident.get("logs") or [])
        self.border_title = Content(f"log lines {shown}/{total} matching {needle!r}" if needle
                                    else f"log lines from 5 min before the start ({total})")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.show(self.incident)
