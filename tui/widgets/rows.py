"""A row-cursor table where `home`/`end` go to the first/last row (DataTable's own bindings
scroll sideways, which is not what an operator reaching for the newest or oldest row means),
and whose cells are drawn again only when they change.

DataTable keys its cache of drawn cells on a counter that any change to any cell moves: the
alerts screen updating its ages twice a second, or a dialog closing over a table whose data
moved, drew every cell on screen again through Rich (60 rows x 7 cells at 200x60: 30-50 ms
of CPU, the bulk of the soak's slow keys once garbage collection was moved out of them).
Here a cell drawn before is reused while its column, content, width and styles are the same;
drawn on another row (the event tail moves every row down one for each new event), its
segments are told their new row (the mouse's click finds the row by it).
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


def same(a: Any, b: Any) -> bool:
    """Cells that look the same (rich's ``Text ==`` ignores the style of the whole text)."""
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and a.style == b.style and a.spans == b.spans \
            and a.justify == b.justify
    return bool(a == b)


def content_key(cell: Any) -> Any:
    """What a cell shows, hashable (None: a cell of another kind, never reused)."""
    if isinstance(cell, Text):
        return ("t", cell.plain, cell.style, tuple(cell.spans), cell.justify, cell.overflow,
                cell.no_wrap, cell.end)
    if cell is None or isinstance(cell, (str, int, float)):
        return ("v", type(cell), cell)
    return None


class RowTable(DataTable[Any]):
    BINDINGS = [
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
    ]
    DRAWN_MAX = 3_000  # cells kept drawn (a 200x60 screen shows ~450); then it starts over

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # DataTable's own caches, keyed on its change counter, are of little use past the
        # current count once cells are kept here; at their sizes (10,000 cells, 1,000 lines
        # and rows a table) they held most of the 150,000-300,000 objects every full garbage
        # collection scanned after a few minutes (the 10-minute soak: 250-300 ms of CPU each)
        self._cell_render_cache = LRUCache(1_500)
        self._row_render_cache = LRUCache(500)
        self._line_cache = LRUCache(500)
        self._drawn: dict[tuple[int, Any], Any] = {}  # (row, cell key) -> lines
        self._moved: dict[Any, Any] = {}  # cell key -> lines drawn on some row

    def _clear_caches(self) -> None:
        super()._clear_caches()  # styles changed, a column resized: draw everything again
        self._drawn.clear()
        self._moved.clear()

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> Any:
        if row_index < 0 or column_index < 0:  # the header, row labels
            return super()._render_cell(row_index, column_index, base_style, width, cursor,
                                        hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        row = self.rows.get(row_key) if row_key is not None else None
        content = None
        if row is not None and row_key is not None and column_key is not None:
            content = content_key(self._data.get(row_key, {}).get(column_key))
        if content is None or row is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor,
                                        hover)
        key = (column_index, content, width, base_style, cursor, hover, row_index < self.fixed_rows,
               self._show_hover_cursor, self._pseudo_class_state, row.height)
        lines = self._drawn.get((row_index, key))
        if lines is not None:
            return lines
        moved = self._moved.get(key)
        if moved is not None:  # drawn on another row (the event tail moves every row down
            # one for each new event): the same segments, told their row for the mouse
            meta = Style.from_meta({"row": row_index, "column": column_index})
            lines = [[Segment(text, style + meta if style else meta, control)
                      for text, style, control in line_] for line_ in moved]
        else:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor,
                                         hover)
        if len(self._drawn) >= self.DRAWN_MAX:
            self._drawn.clear()
            self._moved.clear()
        self._drawn[row_index, key] = lines
        self._moved[key] = lines
        return lines

    def fit_column(self, key: str, texts: list[str], lo: int, hi: int = 60) -> None:
        """Size a column to its widest text (within ``lo``..``hi``) so nothing is cut.

        Set here, at once, rather than by DataTable's auto width: that is measured on idle
        and a table rebuilt twice a second kept drawing cells cut to the old width."""
        column = self.columns[ColumnKey(key)]
        width = max(lo, min(hi, max((cell_len(t) for t in texts), default=0)))
        if column.auto_width or column.width != width:
            column.auto_width, column.width = False, width
            self._clear_caches()
            self._require_update_dimensions = True
            self.refresh()

    def set_cell(self, row: Any, column: Any, cell: Any) -> bool:
        """Update one cell if what it shows changed (text or style); True if it did."""
        if same(self.get_cell(row, column), cell):
            return False
        self.update_cell(row, column, cell)
        return True

    def replace_rows(self, rows: list[list[Any]]) -> bool:
        """Show ``rows`` (their cells) in place of the rows shown: only the cells that changed
        are replaced, rows beyond those shown are added at the end, so no cell but the new
        rows' is measured again (a rebuild of the event tail's 200 rows cost ~35 ms of CPU;
        a tail still filling up rebuilt at every new event). False, and nothing done, when
        there are fewer rows than shown: the caller rebuilds.

        What ``update_cell`` does, but one refresh for the lot: ``update_cell`` refreshes
        the widget for each cell, and 1,000 cells cost more than the rebuild saved."""
        shown = self.row_count
        if not rows or len(rows) < shown:
            return False
        columns = [column.key for column in self.ordered_columns]
        changed = False
        for cells in rows[shown:]:  # more rows than shown (a tail filling up): added at the end
            self.add_row(*cells)
        for y, cells in enumerate(rows[:shown]):
            row_key, _ = self.coordinate_to_cell_key(Coordinate(y, 0))
            data = self._data[row_key]
            for column, cell in zip(columns, cells, strict=True):
                if not same(data.get(column), cell):
                    data[column] = cell
                    changed = True
        if changed:
            self._update_count += 1  # the render caches are keyed on it
            self.refresh()
        return True

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)
