"""The fleet table: one row per host, sortable and filterable, repainting only changed cells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from tui.format import age, level, pct, rate
from tui.model import FleetModel, HostView
from tui.palette import style
from tui.widgets.rows import RowTable

COLUMNS = [("dot", " ", 1), ("host", "host", 12), ("cpu", "cpu", 5), ("mem", "mem", 5),
           ("disk", "disk", 5), ("rx", "rx/s", 5), ("tx", "tx/s", 5), ("load", "load", 5),
           ("alerts", "al", 2), ("seen", "seen", 5)]
# Rows in the table at most: past this the table shows the first rows of the sorted,
# filtered fleet (a 10,000-row DataTable took seconds to rebuild at every re-sort).
MAX_ROWS = 1000


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


def row_cells(model: FleetModel, host: HostView, now: float) -> tuple[Any, ...]:
    m = host.metrics
    down = host.status == "down"
    dot = Text("○", style=style("critical")) if down else Text("●", style=style("ok"))
    n_alerts = model.host_alert_count(host.name)
    disk = host.busiest_disk()[1]

    def gauge(family: str, value: float | None) -> Text:
        lvl = level(family, value)
        return Text(pct(value), style="" if lvl == "ok" else style(lvl), justify="right")

    since = now - host.last_seen
    seen = "now" if since < 3 and not down else age(since)
    if host.status == "unknown":  # rewound to a moment it sent nothing (tui/rewind.py)
        dot, seen = Text("?", style="dim"), "-"
    return (dot, Text(host.name, style="dim" if down else ""),
            gauge("cpu", m.get("cpu.percent")), gauge("mem", m.get("mem.percent")),
            gauge("disk", disk), Text(rate(host.net("rx")), justify="right"),
            Text(rate(host.net("tx")), justify="right"),
            Text(f"{m['load.1']:.1f}" if "load.1" in m else "-", justify="right"),
            Text(str(n_alerts) if n_alerts else "", style=style("critical"), justify="right"),
            Text(seen, style=style("critical") if down else "dim", justify="right"))


class HostTable(RowTable):
    """Hosts of the model; ``sync`` adds/removes rows or updates only cells that changed."""

    @dataclass
    class HostHighlighted(Message):
        host: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.sort_column = "host"
        self.sort_reverse = False
        self.total = 0  # hosts matching the filter, shown or not (see MAX_ROWS)
        self.filter = ""
        self._shown: dict[str, tuple[Any, ...]] = {}
        self._order: list[str] = []
        self._structure: tuple[Any, ...] | None = None
        self._stale: set[str] = set()  # rows whose cells lag the model (off screen)
        self._model: FleetModel | None = None
        self._now = 0.0

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    @property
    def selected_host(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    def set_sort(self, column: str) -> None:
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            self.sort_reverse = column not in ("host", "dot")  # biggest first for values
        self._structure = None

    def set_filter(self, text: str) -> None:
        self.filter = text.strip().lower()
        self._structure = None

    def resort(self) -> None:
        """Order rows again by current values (called every few seconds)."""
        self._structure = None

    def sync(self, model: FleetModel, now: float, dirty: set[str],
             prefer: str | None = None) -> None:
        """Bring the rows up to date; ``prefer`` is the host to keep the cursor on."""
        structure = (model.hosts_version, self.sort_column, self.sort_reverse, self.filter)
        if structure != self._structure:
            self._rebuild(model, now, prefer)
            self._structure = structure
            return
        self._model, self._now = model, now
        self._stale |= dirty & self._shown.keys()
        self._paint_visible()

    def _paint_visible(self) -> None:
        """Update the cells of visible rows that changed; rows off screen wait until scrolled to.

        Each ``update_cell`` costs a refresh, so with 1,000 hosts updating every second only
        the few dozen visible rows are touched (measured in bench/bench_tui.py). A visible
        host that has gone quiet is repainted too: its "seen" age moves with the clock.
        """
        model, now = self._model, self._now
        if model is None:
            return
        top = int(self.scroll_y)
        for name in self._order[top:top + self.size.height + 1]:
            host = model.hosts.get(name)
            if host is None or name not in self._shown or (
                    name not in self._stale and now - host.last_seen < 3):
                continue
            self._stale.discard(name)
            cells = row_cells(model, host, now)
            for (key, _, _), new, prev in zip(COLUMNS, cells, self._shown[name], strict=True):
                if new != prev:
                    self.update_cell(name, key, new)
            self._shown[name] = cells

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._paint_visible()

    def _rebuild(self, model: FleetModel, now: float, prefer: str | None) -> None:
        # The row under the cursor stays under it: ``prefer`` (the app's selected host)
        # lags the cursor by a message, and a rebuild in between jumped it back.
        keep = self.selected_host or prefer
        hosts = [h for h in model.hosts.values() if self.filter in h.name.lower()]
        hosts.sort(key=lambda h: sort_value(model, h, self.sort_column), reverse=self.sort_reverse)
        self.total = len(hosts)
        del hosts[MAX_ROWS:]  # a big fleet: the top of the order (filter to reach the rest)
        # Forget the old rows first: clear() scrolls to the top, and the scroll watcher
        # repaints what it believes is on screen (the old rows were gone: CellDoesNotExist).
        self._shown, self._order, self._stale = {}, [], set()
        self.clear()
        for host in hosts:
            cells = row_cells(model, host, now)
            self.add_row(*cells, key=host.name)
            self._shown[host.name] = cells
            self._order.append(host.name)
        for key, _, _ in COLUMNS:
            col = self.columns[key]  # type: ignore[index]
            arrow = ("▼" if self.sort_reverse else "▲") if key == self.sort_column else ""
            col.label = Text(dict((k, lbl) for k, lbl, _ in COLUMNS)[key] + arrow)
        if keep in self._shown:
            self.move_cursor(row=self._order.index(keep), animate=False)
        elif self._order:
            self.move_cursor(row=0, animate=False)
            self.post_message(self.HostHighlighted(self._order[0]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Rebuilding the rows posts highlights of rows the cursor has already left: skip them.
        # A filter that matches nothing highlights "no row": row_key None, cursor_row -1.
        if event.row_key is not None and event.row_key.value is not None \
                and event.cursor_row == self.cursor_row:
            self.post_message(self.HostHighlighted(event.row_key.value))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value:
            self.set_sort(event.column_key.value)

    def visible_hosts(self) -> list[str]:
        """The hosts of the rows on screen now (what a big fleet's console follows)."""
        top = int(self.scroll_y)
        return self._order[top:top + self.size.height + 1]
