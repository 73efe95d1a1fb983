"""The fleet table: one row per host, sorted and filtered, drawing only the rows on screen.

A line-API widget (``render_line``): a re-sort or a new filter orders the host names and
repaints the few dozen visible rows, whatever the fleet's size. The DataTable it replaces
built a row for each of up to 1,000 hosts and measured every cell on each re-sort (300-500
ms at 10,000 hosts; see docs/benchmarks.md). Cells of visible rows are compared with what is
on screen and only changed lines are refreshed; rows off screen wait until scrolled to.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.hostquery import HostQuery
from core.hostquery import parse as parse_filter
from tui.model import FleetModel, HostView
from tui.widgets.host_columns import (
    COLUMNS,
    COMPACT,
    FULL,
    MAX_FLEX,
    SORTABLE,
    Column,
    figure_getter,
    row_cells,
    sort_key,
)

__all__ = ["COLUMNS", "SORTABLE", "HostTable"]
REFILTER_S = 2.0  # a filter on figures (cpu>80) is run again at most this often


class HostTable(ScrollView, can_focus=True):
    """Hosts of the model; ``sync`` orders them again or repaints the cells that changed."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"host-table--header", "host-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
    ]
    DEFAULT_CSS = """
    HostTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        &:focus { background-tint: $foreground 5%; }
        & > .host-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .host-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .host-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

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
        self.cursor_row = 0
        self._order: list[str] = []
        self._shown: dict[str, tuple[Any, ...]] = {}  # cells as painted, by host
        self._structure: tuple[Any, ...] | None = None
        self._stale: set[str] = set()  # rows whose cells lag the model (off screen)
        self._model: FleetModel | None = None
        self._now = 0.0
        self._filtered_at = 0.0
        self._name_width = 4  # the longest host name: the host column grows to it
        self._layout_key: tuple[int, bool, int] | None = None
        self._layout: list[tuple[Column, int]] = []

    # ---------------------------------------------------------------- public
    @property
    def columns(self) -> list[Column]:
        return COMPACT if self.compact else FULL

    @property
    def row_count(self) -> int:
        return len(self._order)

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
        top = int(self.scroll_y)
        return self._order[top:top + self._rows_high()]

    def get_cell(self, host: str, column: str) -> Any:
        """The cell of ``host`` in ``column`` as on screen (computed if not painted yet)."""
        keys = [c.key for c in self.columns]
        cells = self._shown.get(host)
        if cells is None:
            if self._model is None or host not in self._model.hosts:
                raise KeyError(host)
            cells = row_cells(self._model, self._model.hosts[host], self._now, self.compact)
        return cells[keys.index(column)]

    def update_cell(self, host: str, column: str, value: Any) -> None:
        keys = [c.key for c in self.columns]
        cells = list(self._shown[host])
        cells[keys.index(column)] = value
        self._shown[host] = tuple(cells)
        top = int(self.scroll_y)
        at = _find(self._order, host, top, top + self._rows_high() + 1)
        if at is not None:
            self.refresh_line(at + 1)

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        if not self._order:
            self.cursor_row = 0
            return
        row = max(0, min(len(self._order) - 1, row))
        old, self.cursor_row = self.cursor_row, row
        self.refresh_line(old + 1)
        self.refresh_line(row + 1)
        if scroll:
            self._scroll_to_cursor()
        if old != row:
            self.post_message(self.HostHighlighted(self._order[row]))

    def _scroll_to_cursor(self) -> None:
        row, top, high = self.cursor_row, int(self.scroll_y), self._rows_high()
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + high:
            self.scroll_to(y=row - high + 1, animate=False, immediate=True)

    # ---------------------------------------------------------------- data
    def sync(self, model: FleetModel, now: float, dirty: set[str],
             prefer: str | None = None) -> None:
        """Bring the rows up to date; ``prefer`` is the host to keep the cursor on."""
        self._model, self._now = model, now
        structure = (model.hosts_version, self.sort_column, self.sort_reverse, self.filter,
                     self.compact)
        if structure != self._structure:
            self._rebuild(model, now, prefer)
            self._structure = structure
            return
        if self.host_query is not None and self.host_query.figures and dirty \
                and time.monotonic() - self._filtered_at >= REFILTER_S:
            self._structure = None  # a filter on figures: membership moves with them
        self._stale |= dirty  # read for rows on screen only; emptied by each rebuild
        self._paint_visible()

    def _paint_visible(self) -> None:
        """Update the cells of visible rows that changed. A visible host that has gone quiet
        is repainted too: its "seen" age moves with the clock."""
        model, now = self._model, self._now
        if model is None:
            return
        for name in self.visible_hosts():
            host = model.hosts.get(name)
            if host is None or name not in self._shown or (
                    name not in self._stale and now - host.last_seen < 3):
                continue
            self._stale.discard(name)
            cells = row_cells(model, host, now, self.compact)
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
        self._order = order
        self._filtered_at = time.monotonic()
        self.total = len(order)
        self._name_width = max(map(len, order), default=4)
        self._shown, self._stale = {}, set()
        self.virtual_size = Size(self._line_width(), len(order) + 1)
        self.refresh()
        # the new height takes effect at the next layout: scroll to the cursor after it too
        self.call_after_refresh(self._scroll_to_cursor)
        at = _find(order, keep)
        if at is not None:
            self.move_cursor(row=at)
        elif order:
            self.cursor_row = -1
            self.move_cursor(row=0)
        else:
            self.cursor_row = 0

    # ---------------------------------------------------------------- drawing
    def _rows_high(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _widths(self) -> list[tuple[Column, int]]:
        width = self.scrollable_content_region.width or self.size.width or 80
        key = (width, self.compact, self._name_width)
        if key != self._layout_key:
            cols = self.columns
            fixed = sum(c.width for c in cols) + len(cols) - 1
            extra = max(0, width - fixed)
            grow = min(MAX_FLEX, self._name_width)
            self._layout = [(c, max(c.width, min(grow, c.width + extra)) if c.flex
                             else c.width) for c in cols]
            self._layout_key = key
        return self._layout

    def _line_width(self) -> int:
        layout = self._widths()
        return sum(w for _, w in layout) + len(layout) - 1

    def on_resize(self, event: events.Resize) -> None:
        self._layout_key = None
        self.virtual_size = Size(self._line_width(), len(self._order) + 1)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("host-table--header")
            arrow = "▼" if self.sort_reverse else "▲"
            header = [Text(_label(c.label.strip(), arrow, w) if c.key == self.sort_column
                           else c.label, justify="left" if c.key in ("dot", "host", "spark")
                           else "right") for c, w in self._widths()]
            return self._strip(header, style, width)
        row = int(self.scroll_y) + y - 1
        if row >= len(self._order) or self._model is None:
            return Strip.blank(width, base)
        name = self._order[row]
        cells = self._shown.get(name)
        if cells is None or name in self._stale:
            host = self._model.hosts.get(name)
            if host is None:
                return Strip.blank(width, base)
            cells = self._shown[name] = row_cells(self._model, host, self._now, self.compact)
            self._stale.discard(name)
        style = base
        if row == self.cursor_row:
            style = base + self.get_component_rich_style("host-table--cursor")
        return self._strip(list(cells), style, width)

    def _strip(self, cells: list[Any], style: Style, width: int) -> Strip:
        console = self.app.console
        segs: list[Segment] = []
        pad = Segment(" ", style)
        for i, ((_col, w), cell) in enumerate(zip(self._widths(), cells, strict=True)):
            if i:
                segs.append(pad)
            text = cell if isinstance(cell, Text) else Text(str(cell))
            if text.cell_len > w:
                text = text.copy()
                text.truncate(w, overflow="ellipsis")
            gap = Segment(" " * (w - text.cell_len), style)
            own = text.style  # Text.render leaves the text's own style to the caller
            body = Segment.apply_style(text.render(console), style + console.get_style(own)
                                       if own else style)
            if text.justify == "right":
                segs.append(gap)
                segs.extend(body)
            else:
                segs.extend(body)
                segs.append(gap)
        return Strip(segs).crop_extend(0, width, style)

    # ---------------------------------------------------------------- keys and mouse
    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step * max(1, self._rows_high() - 1))

    def action_first_row(self) -> None:
        if self._order:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self._order:
            self.move_cursor(row=len(self._order) - 1)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._paint_visible()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = 0
            for col, w in self._widths():
                if x <= offset.x < x + w + 1 and col.sortable:
                    self.set_sort(col.key)
                    self.post_message(self.SortChanged(self.sort_column, self.sort_reverse))
                    return
                x += w + 1
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._order):
            if row == self.cursor_row:
                self.post_message(self.HostSelected(self._order[row]))
            else:
                self.move_cursor(row=row)


def _find(order: list[str], name: str | None, lo: int = 0, hi: int | None = None) -> int | None:
    if name is None:
        return None
    try:
        return order.index(name, lo, len(order) if hi is None else hi)
    except ValueError:
        return None


def _label(label: str, arrow: str, width: int) -> str:
    """A sorted column's header: its label and the arrow, the label cut to make room."""
    return label[:max(0, width - 1)] + arrow


def _no_figure(name: str) -> float | None:
    return None
