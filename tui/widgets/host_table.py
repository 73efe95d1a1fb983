"""The fleet table: one row per host, sorted and filtered, drawing only the rows on screen.

A line table (tui/widgets/line_table.py): a re-sort or a new filter orders the host names
and repaints the few dozen visible rows, whatever the fleet's size. The DataTable it
replaces built a row for each of up to 1,000 hosts and measured every cell on each re-sort
(300-500 ms p99 at 10,000 hosts; see docs/benchmarks.md). Cells of visible rows are compared
with what is on screen and only changed lines are refreshed; rows off screen wait until
scrolled to.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.message import Message

from core.hostquery import HostQuery
from core.hostquery import parse as parse_filter
from tui.model import FleetModel, HostView
from tui.widgets.host_columns import (
    COLUMNS,
    COMPACT,
    FULL,
    SORTABLE,
    Column,
    figure_getter,
    mark_cell,
    row_cells,
    sort_key,
)
from tui.widgets.line_table import LineTable

__all__ = ["COLUMNS", "SORTABLE", "HostTable"]
REFILTER_S = 2.0  # a filter on figures (cpu>80) is run again at most this often


class HostTable(LineTable):
    """Hosts of the model; ``sync`` orders them again or repaints the cells that changed."""

    @dataclass
    class HostHighlighted(Message):
        host: str

    @dataclass
    class HostSelected(Message):
        """A click on the highlighted row (Enter goes through the app's ``open``)."""
        host: str

    @dataclass
    class SortChanged(Message):
        """A click on a header changed the sort."""
        column: str
        reverse: bool

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sort_column = "host"
        self.sort_reverse = False
        self.compact = False
        self.total = 0  # hosts matching the filter (all of them are rows)
        self.filter = ""
        self.host_query: HostQuery | None = None
        self._structure: tuple[Any, ...] | None = None
        self._model: FleetModel | None = None
        self._now = 0.0
        self._filtered_at = 0.0
        self.marked: Collection[str] = frozenset()  # the app's marked hosts (show_mark)

    # ---------------------------------------------------------------- public
    @property
    def columns(self) -> list[Column]:
        return COMPACT if self.compact else FULL

    @property
    def selected_host(self) -> str | None:
        if 0 <= self.cursor_row < len(self._order):
            return self._order[self.cursor_row]
        return None

    def set_sort(self, column: str, reverse: bool | None = None) -> None:
        """Sort by ``column``; the same column again reverses (values sort biggest first)."""
        if reverse is not None:
            self.sort_column, self.sort_reverse = column, reverse
        elif column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            self.sort_reverse = column not in ("host", "dot")
        self._structure = None

    def set_filter(self, text: str) -> None:
        """Filter by ``text`` (core/hostquery.py); a bad filter raises ``QueryError`` and
        leaves the one before in place."""
        query = parse_filter(text)
        self.filter, self.host_query = query.text, (query if query else None)
        self._structure = None

    def set_compact(self, compact: bool) -> None:
        self.compact = compact
        self._structure = None

    def resort(self) -> None:
        """Order rows again by current values (called every few seconds)."""
        self._structure = None

    def visible_hosts(self) -> list[str]:
        """The hosts of the rows on screen now (what a big fleet's console follows)."""
        return self.visible_keys()

    def show_mark(self, host: str) -> None:
        """``host`` was marked or unmarked: its row shows it now (rows drawn later, after a
        sort, a filter or a scroll, read ``marked`` themselves)."""
        if host in self._shown:
            self.update_cell(host, "mark", mark_cell(host in self.marked))

    def get_cell(self, host: str, column: str) -> Any:
        """The cell of ``host`` in ``column`` as on screen (computed if not painted yet)."""
        keys = [c.key for c in self.columns]
        cells = self._shown.get(host) or self.row_cells_of(host)
        if cells is None:
            raise KeyError(host)
        return cells[keys.index(column)]

    def update_cell(self, host: str, column: str, value: Any) -> None:
        keys = [c.key for c in self.columns]
        cells = list(self._shown[host])
        cells[keys.index(column)] = value
        self._shown[host] = tuple(cells)
        self.refresh_row(host)

    # ---------------------------------------------------------------- data
    def sync(self, model: FleetModel, now: float, dirty: set[str],
             prefer: str | None = None) -> None:
        """Bring the rows up to date; ``prefer`` is the host to keep the cursor on."""
        self._model, self._now = model, now
        structure = (model.hosts_version, self.sort_column, self.sort_reverse, self.filter,
                     self.compact)
        if self.host_query is not None and self.host_query.figures and dirty \
                and time.monotonic() - self._filtered_at >= REFILTER_S:
            self._structure = None  # a filter on figures: membership moves with them
        if structure != self._structure:
            self._rebuild(model, now, prefer)
            self._structure = structure
            return
        self._stale |= dirty  # read for rows on screen only; emptied by each rebuild
        self.paint_visible()

    def paint_visible(self) -> None:
        """Update the cells of visible rows that changed. A visible host that has gone quiet
        is repainted too: its "seen" age moves with the clock."""
        model, now = self._model, self._now
        if model is None:
            return
        for name in self.visible_keys():
            host = model.hosts.get(name)
            if host is None or name not in self._shown or (
                    name not in self._stale and now - host.last_seen < 3):
                continue
            self._stale.discard(name)
            cells = row_cells(model, host, now, self.compact, name in self.marked)
            for col, new, prev in zip(self.columns, cells, self._shown[name], strict=True):
                if new != prev:
                    self.update_cell(name, col.key, new)

    def _rebuild(self, model: FleetModel, now: float, prefer: str | None) -> None:
        # The row under the cursor stays under it: ``prefer`` (the app's selected host)
        # lags the cursor by a message.
        keep = self.selected_host or prefer
        query = self.host_query
        hosts: Iterable[HostView] = model.hosts.values()
        if query is not None:
            match = query.matches
            if query.figures:
                hosts = [h for h in hosts
                         if match(h.name, h.status, h.labels, figure_getter(model, h, now))]
            else:  # names, labels, status: no figures to look up
                hosts = [h for h in hosts if match(h.name, h.status, h.labels, _no_figure)]
        column = self.sort_column
        if column == "host":
            order = sorted((h.name for h in hosts), reverse=self.sort_reverse)
        else:
            ranked = sorted(hosts, key=sort_key(model, column), reverse=self.sort_reverse)
            order = [h.name for h in ranked]
        self._filtered_at = time.monotonic()
        self.total = len(order)
        self.set_rows(order, keep)

    # ---------------------------------------------------------------- line table hooks
    def row_cells_of(self, key: str) -> tuple[Any, ...] | None:
        model = self._model
        host = model.hosts.get(key) if model is not None else None
        if model is None or host is None:
            return None
        return row_cells(model, host, self._now, self.compact, key in self.marked)

    def header_cells(self, widths: list[tuple[Column, int]]) -> list[Text]:
        arrow = "▼" if self.sort_reverse else "▲"
        return [Text(_label(c.label.strip(), arrow, w) if c.key == self.sort_column
                     else c.label, justify="left" if c.key in ("dot", "mark", "host", "spark")
                     else "right") for c, w in widths]

    def row_highlighted(self, key: str) -> None:
        self.post_message(self.HostHighlighted(key))

    def row_clicked(self, key: str) -> None:
        self.post_message(self.HostSelected(key))

    def header_clicked(self, column: Column) -> None:
        if column.sortable:
            self.set_sort(column.key)
            self.post_message(self.SortChanged(self.sort_column, self.sort_reverse))


def _label(label: str, arrow: str, width: int) -> str:
    """A sorted column's header: its label and the arrow, the label cut to make room."""
    return label[:max(0, width - 1)] + arrow


def _no_figure(name: str) -> float | None:
    return None
