"""Alerts as a table: the dashboard's feed and the alerts screen, grouped by severity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets.data_table import ColumnKey

from tui.format import SEV_LABEL, age, alert_value
from tui.palette import style
from tui.widgets.rows import RowTable

if TYPE_CHECKING:
    from tui.model import FleetModel

GROUP = "group:"
ACTIVE = ("pending", "firing")


def group_of(alert: dict[str, Any]) -> str:
    """The heading an alert sits under; the same rule as the model's sort, so each group is
    one run of rows: severity while pending or firing, else ``resolved``."""
    return str(alert.get("severity", "")) if alert.get("state") in ACTIVE else "resolved"


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


class AlertTable(RowTable):
    """Rows keyed by alert id; ``grouped`` adds a heading row per severity."""

    def __init__(self, grouped: bool = False, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.grouped = grouped
        self._ids: list[str | None] = []  # the alert of each row (None: a heading)
        self._keys: list[str] = []  # the row keys, in order
        self._version = -1
        self.model: FleetModel | None = None

    def on_mount(self) -> None:
        self.add_column("sev", key="sev", width=4)
        if self.grouped:
            self.add_column("state", key="state", width=8)
        self.add_column("host", key="host")  # host and value: as wide as their widest cell
        self.add_column("rule", key="rule", width=18)
        self.add_column("value", key="value")
        self.add_column("age", key="age", width=4)
        self.add_column("flags", key="flags")

    @property
    def selected_alert_id(self) -> str | None:
        row = self.cursor_row
        if 0 <= row < len(self._ids):
            return self._ids[row]
        return None

    def show(self, alerts: list[dict[str, Any]], now: float, version: int,
             model: FleetModel | None = None) -> None:
        """Bring the rows up to date with ``alerts`` (refresh ages and live values only when
        ``version`` did not move).

        When the rows are the same alerts in the same order as shown (an ack, a new value,
        pending -> firing), only the cells that changed are updated; a rebuild (clear and
        add every row: a new layout and a full repaint) is for a changed set or order.
        Row keys are unique by construction: alert ids once each (a repeated id is shown
        once), headings numbered, whatever order the alerts come in."""
        self.model = model
        if version == self._version:
            self._refresh_cells(alerts, now)
            return
        self._version = version
        rows = self._rows(alerts, now)
        self.fit_column("host", [str(a.get("host", "")) for a in alerts], 4, 24)
        self.fit_column("value", [self._value(a).plain for a in alerts], 5, 24)
        if [key for key, _, _ in rows] == self._keys:
            self._update_rows(rows)
            return
        row = self.cursor_row  # the row under the cursor (an alert, or a heading: `home`)
        keep = self._keys[row] if 0 <= row < len(self._keys) else None
        self.clear()
        self._ids, self._keys = [], []
        for key, alert_id, cells in rows:
            self.add_row(*cells, key=key)
            self._ids.append(alert_id)
            self._keys.append(key)
        if keep is not None and keep in self._keys:
            self.move_cursor(row=self._keys.index(keep), animate=False)
        elif self._ids and self._ids[0] is None and len(self._ids) > 1:
            self.move_cursor(row=1, animate=False)  # skip the first group heading

    def _rows(self, alerts: list[dict[str, Any]], now: float
              ) -> list[tuple[str, str | None, list[Any]]]:
        """(row key, alert id or None for a heading, cells) for each row to show."""
        rows: list[tuple[str, str | None, list[Any]]] = []
        current, headings, seen = None, 0, set()
        counts: dict[str, int] = {}
        for alert in alerts:
            counts[group_of(alert)] = counts.get(group_of(alert), 0) + 1
        for alert in alerts:
            if alert["id"] in seen:
                continue
            seen.add(alert["id"])
            if self.grouped:
                group = group_of(alert)
                if group != current:
                    current = group
                    headings += 1
                    rows.append((f"{GROUP}{headings}:{group}", None,
                                 self._heading(group, counts[group])))
            rows.append((alert["id"], alert["id"], self._cells(alert, now)))
        if not alerts:
            rows.append(("empty", None, self._empty()))
        return rows

    def _update_rows(self, rows: list[tuple[str, str | None, list[Any]]]) -> None:
        columns = [column.key for column in self.ordered_columns]
        for key, _, cells in rows:
            for column, cell in zip(columns, cells, strict=True):
                self.set_cell(key, column, cell)

    def _refresh_cells(self, alerts: list[dict[str, Any]], now: float) -> None:
        shown = set(self._ids)
        values: list[str] = []
        for alert in alerts:
            if alert["id"] in shown:
                self.set_cell(alert["id"], "age", self._age(alert, now))
                value = self._value(alert)
                if self.set_cell(alert["id"], "value", value):
                    values.append(value.plain)
        if values:
            column = self.columns[ColumnKey("value")]
            self.fit_column("value", values, column.width, 24)  # grows, never shrinks here

    def _value(self, alert: dict[str, Any]) -> Text:
        live = self.model.live_value(alert) if self.model is not None else None
        dim = "dim" if alert.get("state") not in ACTIVE or alert.get("silenced") else ""
        return Text(alert_value(alert, live), style=dim)

    def _age(self, alert: dict[str, Any], now: float) -> Text:
        return Text(age(now - float(alert.get("started_at") or now)), justify="right")

    def _cells(self, alert: dict[str, Any], now: float) -> list[Any]:
        sev = alert.get("severity", "")
        resolved = alert.get("state") not in ACTIVE
        dim = "dim" if resolved or alert.get("silenced") else ""
        style_ = "dim" if resolved else style(sev)
        cells: list[Any] = [Text(SEV_LABEL.get(sev, sev[:4]).upper(), style=style_)]
        if self.grouped:
            state = alert.get("state", "")
            cells.append(Text(state, style="dim" if resolved else
                              ("bold" if state == "firing" else "")))
        cells += [Text(alert.get("host", ""), style=dim), Text(alert.get("rule", ""), style=dim),
                  self._value(alert), self._age(alert, now),
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
