"""A table drawn with Textual's line API: a header line, then one line per row key, of which
only the lines on screen are ever rendered (``render_line``).

The host table (tui/widgets/host_table.py) is one: with 10,000 hosts a re-sort is a new list
of keys and some 40 lines drawn, where a DataTable built and measured every row. Subclasses
say what the columns are (``columns``), what a row's cells are (``row_cells_of``) and what a
header line shows (``header_cells``); this class keeps the cursor, the scrolling and the
drawing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.widgets.host_columns import MAX_FLEX, Column


class LineTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"line-table--header", "line-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
    ]
    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        &:focus { background-tint: $foreground 5%; }
        & > .line-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .line-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .line-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cursor_row = 0
        self._order: list[str] = []  # the row keys, in order
        self._shown: dict[str, tuple[Any, ...]] = {}  # cells as painted, by row key
        self._stale: set[str] = set()  # keys whose cells lag their data (off screen)
        self._flex_width = 4  # the flex column grows to this (its longest text)
        self._layout_key: tuple[Any, ...] | None = None
        self._layout: list[tuple[Column, int]] = []

    # ---------------------------------------------------------------- to override
    @property
    def columns(self) -> list[Column]:
        raise NotImplementedError

    def row_cells_of(self, key: str) -> tuple[Any, ...] | None:
        """The cells of a row as they should be drawn now (None: gone)."""
        raise NotImplementedError

    def header_cells(self, widths: list[tuple[Column, int]]) -> list[Text]:
        return [Text(c.label) for c, _ in widths]

    def row_highlighted(self, key: str) -> None:
        """The cursor moved to another row."""

    def row_clicked(self, key: str) -> None:
        """A click on the row under the cursor."""

    def header_clicked(self, column: Column) -> None:
        """A click on a column's header."""

    def paint_visible(self) -> None:
        """Repaint what changed on screen (after a scroll)."""

    # ---------------------------------------------------------------- rows and cursor
    @property
    def row_count(self) -> int:
        return len(self._order)

    def set_rows(self, order: list[str], keep: str | None) -> None:
        """New rows; the cursor stays on ``keep`` if it is still a row, else goes to the top."""
        self._order = order
        self._shown, self._stale = {}, set()
        self._flex_width = max(map(len, order), default=4)
        self.virtual_size = Size(self._line_width(), len(order) + 1)
        self.refresh()
        # the new height takes effect at the next layout: scroll to the cursor after it too
        self.call_after_refresh(self._scroll_to_cursor)
        at = find(order, keep)
        if at is not None:
            self.move_cursor(row=at)
        elif order:
            self.cursor_row = -1
            self.move_cursor(row=0)
        else:
            self.cursor_row = 0

    def visible_keys(self) -> list[str]:
        top = int(self.scroll_y)
        return self._order[top:top + self._rows_high()]

    def refresh_row(self, key: str) -> None:
        top = int(self.scroll_y)
        at = find(self._order, key, top, top + self._rows_high() + 1)
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
            self.row_highlighted(self._order[row])

    def _scroll_to_cursor(self) -> None:
        row, top, high = self.cursor_row, int(self.scroll_y), self._rows_high()
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + high:
            self.scroll_to(y=row - high + 1, animate=False, immediate=True)

    # ---------------------------------------------------------------- drawing
    def _rows_high(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def widths(self) -> list[tuple[Column, int]]:
        width = self.scrollable_content_region.width or self.size.width or 80
        cols = self.columns
        key = (width, id(cols), self._flex_width)
        if key != self._layout_key:
            fixed = sum(c.width for c in cols) + len(cols) - 1
            extra = max(0, width - fixed)
            grow = min(MAX_FLEX, self._flex_width)
            self._layout = [(c, max(c.width, min(grow, c.width + extra)) if c.flex
                             else c.width) for c in cols]
            self._layout_key = key
        return self._layout

    def _line_width(self) -> int:
        layout = self.widths()
        return sum(w for _, w in layout) + len(layout) - 1

    def on_resize(self, event: events.Resize) -> None:
        self._layout_key = None
        self.virtual_size = Size(self._line_width(), len(self._order) + 1)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("line-table--header")
            return self._strip(self.header_cells(self.widths()), style, width)
        row = int(self.scroll_y) + y - 1
        if row >= len(self._order):
            return Strip.blank(width, base)
        key = self._order[row]
        cells = self._shown.get(key)
        if cells is None or key in self._stale:
            cells = self.row_cells_of(key)
            if cells is None:
                return Strip.blank(width, base)
            self._shown[key] = cells
            self._stale.discard(key)
        style = base
        if row == self.cursor_row:
            style = base + self.get_component_rich_style("line-table--cursor")
        return self._strip(list(cells), style, width)

    def _strip(self, cells: list[Any], style: Style, width: int) -> Strip:
        console = self.app.console
        segs: list[Segment] = []
        pad = Segment(" ", style)
        for i, ((_col, w), cell) in enumerate(zip(self.widths(), cells, strict=True)):
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
        self.paint_visible()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = 0
            for col, w in self.widths():
                if x <= offset.x < x + w + 1:
                    self.header_clicked(col)
                    return
                x += w + 1
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._order):
            if row == self.cursor_row:
                self.row_clicked(self._order[row])
            else:
                self.move_cursor(row=row)


def find(order: list[str], key: str | None, lo: int = 0, hi: int | None = None) -> int | None:
    if key is None:
        return None
    try:
        return order.index(key, lo, len(order) if hi is None else hi)
    except ValueError:
        return None
