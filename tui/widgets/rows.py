"""A row-cursor table where `home`/`end` go to the first/last row (DataTable's own bindings
scroll sideways, which is not what an operator reaching for the newest or oldest row means)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


class RowTable(DataTable[Any]):
    BINDINGS = [
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
    ]

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

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)
