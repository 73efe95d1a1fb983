"""Alerts as a table: the dashboard's feed and the alerts screen, grouped by severity."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tui.format import SEV_LABEL, age, alert_value
from tui.palette import style

GROUP = "group:"


def flags(alert: dict[str, Any]) -> str:
    out = []
    if alert.get("acked"):
        out.append("ack")
    if alert.get("silenced"):
        out.append("sil")
    if alert.get("flapping"):
        out.append("flap")
    if alert.get("inhibited"):
        out.append("inh")
    if alert.get("simulated"):
        out.append("sim")
    return " ".join(out)


class AlertTable(DataTable[Any]):
    """Rows keyed by alert id; ``grouped`` adds a heading row per severity."""

    def __init__(self, grouped: bool = False, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.grouped = grouped
        self._ids: list[str | None] = []
        self._version = -1

    def on_mount(self) -> None:
        self.add_column("sev", key="sev", width=4)
        if self.grouped:
            self.add_column("state", key="state", width=8)
        self.add_column("host", key="host", width=10)
        self.add_column("rule", key="rule", width=18)
        self.add_column("value", key="value", width=10)
        self.add_column("age", key="age", width=4)
        self.add_column("flags", key="flags")

    @property
    def selected_alert_id(self) -> str | None:
        row = self.cursor_row
        if 0 <= row < len(self._ids):
            return self._ids[row]
        return None

    def show(self, alerts: list[dict[str, Any]], now: float, version: int) -> None:
        if version == self._version:
            self._refresh_ages(alerts, now)
            return
        self._version = version
        keep = self.selected_alert_id
        self.clear()
        self._ids = []
        current = None
        for alert in alerts:
            resolved = alert.get("state") == "resolved"
            if self.grouped:
                group = "resolved" if resolved else alert.get("severity", "")
                if group != current:
                    current = group
                    n = sum(1 for a in alerts if ("resolved" if a.get("state") == "resolved"
                                                  else a.get("severity")) == group)
                    self.add_row(*self._heading(group, n), key=GROUP + group)
                    self._ids.append(None)
            self.add_row(*self._cells(alert, now), key=alert["id"])
            self._ids.append(alert["id"])
        if not alerts:
            self.add_row(*self._empty(), key="empty")
            self._ids.append(None)
        if keep is not None and keep in self._ids:
            self.move_cursor(row=self._ids.index(keep), animate=False)
        elif self._ids and self._ids[0] is None and len(self._ids) > 1:
            self.move_cursor(row=1, animate=False)  # skip the first group heading

    def _refresh_ages(self, alerts: list[dict[str, Any]], now: float) -> None:
        for alert in alerts:
            if alert["id"] in self._ids:
                new = self._age(alert, now)
                if self.get_cell(alert["id"], "age") != new:
                    self.update_cell(alert["id"], "age", new)

    def _age(self, alert: dict[str, Any], now: float) -> Text:
        return Text(age(now - float(alert.get("started_at") or now)), justify="right")

    def _cells(self, alert: dict[str, Any], now: float) -> list[Any]:
        sev = alert.get("severity", "")
        resolved = alert.get("state") == "resolved"
        dim = "dim" if resolved or alert.get("silenced") else ""
        style_ = "dim" if resolved else style(sev)
        cells: list[Any] = [Text(SEV_LABEL.get(sev, sev[:4]).upper(), style=style_)]
        if self.grouped:
            state = alert.get("state", "")
            cells.append(Text(state, style="dim" if resolved else
                              ("bold" if state == "firing" else "")))
        cells += [Text(alert.get("host", ""), style=dim), Text(alert.get("rule", ""), style=dim),
                  Text(alert_value(alert), style=dim), self._age(alert, now),
                  Text(self._flags(alert), style="dim" if resolved else style("flag"))]
        return cells

    def _flags(self, alert: dict[str, Any]) -> str:
        """The feed has no state column: a pending alert says so among its flags."""
        text = flags(alert)
        if not self.grouped and alert.get("state") == "pending":
            text = f"pend {text}".strip()
        return text

    def _heading(self, group: str, n: int) -> list[Any]:
        style_ = "dim" if group == "resolved" else style(group)
        cells: list[Any] = [Text("──", style=style_)]
        if self.grouped:
            cells += [Text(group, style=style_ + " bold"), Text(f"({n})", style=style_)]
        return cells + [""] * (len(self.columns) - len(cells))

    def _empty(self) -> list[Any]:
        cells: list[Any] = [""] * len(self.columns)
        cells[3 if self.grouped else 2] = Text("no active alerts", style="dim")
        return cells
