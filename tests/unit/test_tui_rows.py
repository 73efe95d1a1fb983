"""RowTable draws a cell again only when it changed (tui/widgets/rows.py): DataTable drew
every cell on screen again after any change to any cell."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tests.snapshots.frozen_app import until
from tui.widgets.rows import RowTable

ROWS, COLS = 20, 4


class Table(App[None]):
    def compose(self) -> ComposeResult:
        yield RowTable(id="t", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        for c in range(COLS):
            table.add_column(f"c{c}", key=f"c{c}", width=8)
        for r in range(ROWS):
            table.add_row(*[Text(f"r{r}c{c}", style="bold" if c else "") for c in range(COLS)],
                          key=f"r{r}")


def counting(monkeypatch: Any) -> list[tuple[int, int]]:
    drawn: list[tuple[int, int]] = []
    real = DataTable._render_cell

    def render_cell(self: Any, row: int, column: int, *args: Any, **kwargs: Any) -> Any:
        if row >= 0:
            drawn.append((row, column))
        return real(self, row, column, *args, **kwargs)

    monkeypatch.setattr(DataTable, "_render_cell", render_cell)
    return drawn


def line(table: RowTable, y: int) -> str:
    return table.render_line(y).text


async def test_one_changed_cell_is_the_only_one_drawn_again(monkeypatch: Any) -> None:
    app = Table()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(RowTable)
        await until(pilot, lambda: "r5c2" in line(table, 6), what="rows drawn")
        drawn = counting(monkeypatch)
        table.update_cell("r5", "c2", Text("NEW", style="bold"))
        await pilot.pause()
        await until(pilot, lambda: "NEW" in line(table, 6), what="the new cell drawn")
        for y in range(1, ROWS + 1):
            line(table, y)  # every row asked for again, as a full repaint does
        assert drawn == [(5, 2)]
        assert "r5c1" in line(table, 6) and "r4c2" in line(table, 5)


async def test_a_restyled_cell_and_a_moved_cursor_are_drawn_again(monkeypatch: Any) -> None:
    app = Table()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(RowTable)
        await until(pilot, lambda: "r3c1" in line(table, 4), what="rows drawn")
        drawn = counting(monkeypatch)
        table.update_cell("r3", "c1", Text("r3c1", style="red"))  # same text, other style
        table.move_cursor(row=2)
        await pilot.pause()
        for y in range(1, ROWS + 1):
            line(table, y)
        assert (3, 1) in drawn
        assert {(2, c) for c in range(COLS)} <= set(drawn)  # the cursor's new row
        assert len(drawn) < ROWS * COLS // 2


async def test_rows_moved_down_are_not_drawn_again_and_know_their_row(monkeypatch: Any) -> None:
    app = Table()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(RowTable)
        await until(pilot, lambda: "r0c1" in line(table, 1), what="rows drawn")
        for y in range(1, ROWS + 1):
            line(table, y)
        drawn = counting(monkeypatch)
        # a new event at the top of a tail: every row's cells move down one
        rows = [[Text(f"r{r}c{c}", style="bold" if c else "") for c in range(COLS)]
                for r in range(-1, ROWS - 1)]
        assert table.replace_rows(rows)
        await pilot.pause()
        for y in range(1, ROWS + 1):
            line(table, y)
        assert "r-1c0" in line(table, 1) and "r4c3" in line(table, 6)
        assert drawn and {r for r, _ in drawn} <= {0, 1}, drawn  # the new row (and cursor's)
        strip = table.render_line(6)  # row 5 shows what row 4 showed: a click finds row 5
        metas = {(s.style.meta.get("row"), s.style.meta.get("column"))
                 for s in strip if s.style and s.style.meta and "row" in s.style.meta}
        assert metas and {r for r, _ in metas} == {5}, metas
