"""`space` marks hosts for the compare chart: each marked row shows `*` before its name, and
keeps it through sorts, filters, compact mode and scrolling (tui/widgets/host_columns.py)."""

from __future__ import annotations

from textual.widgets import Input

from tests.snapshots.frozen_app import make_app, type_text, until
from tui.widgets.host_table import HostTable

SIZE = (80, 24)


def lines(table: HostTable) -> dict[str, str]:
    """The table's rows as drawn now: host name -> the text of its line."""
    drawn: dict[str, str] = {}
    for y in range(1, table.scrollable_content_region.height):
        text = table.render_line(y).text
        words = text.replace("*", " ").split()
        if len(words) > 1:
            drawn[words[1]] = text
    return drawn


def marked_on_screen(table: HostTable) -> set[str]:
    return {host for host, text in lines(table).items() if f"* {host} " in text}


async def test_space_marks_the_row_and_the_mark_survives_sort_filter_compact_scroll() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count == 14, what="all hosts")
        await pilot.press("home", "space", "down", "down", "space")
        first, third = table._order[0], table._order[2]
        await until(pilot, lambda: marked_on_screen(table) == {first, third}, what="marks")
        assert app.marked_hosts == {first, third} and "2 marked" in app.sub_title

        await pilot.press("N")  # name, reversed: both rows move
        await until(pilot, lambda: table._order[0] != first, what="the new order")
        await pilot.press("end")  # the old top rows are now at the bottom: scroll to them
        await until(pilot, lambda: marked_on_screen(table) == {first, third},
                    what="marks after a sort and a scroll")
        await pilot.press("home")
        await until(pilot, lambda: first not in lines(table), what="scrolled back")
        assert not marked_on_screen(table)

        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.focused, Input), what="filter box")
        await type_text(pilot, first)
        await until(pilot, lambda: table.row_count == 1, what="filtered")
        await until(pilot, lambda: marked_on_screen(table) == {first}, what="mark filtered")
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 14, what="filter cleared")

        await pilot.press("c")  # compact rows: the mark column is there too
        await until(pilot, lambda: table.compact, what="compact")
        await until(pilot, lambda: marked_on_screen(table) == {first, third},
                    what="marks in compact rows")


async def test_space_again_unmarks_the_row() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count == 14, what="all hosts")
        host = table.selected_host
        await pilot.press("space")
        await until(pilot, lambda: marked_on_screen(table) == {host}, what="marked")
        await pilot.press("space")
        await until(pilot, lambda: not marked_on_screen(table), what="unmarked")
        assert not app.marked_hosts and host in lines(table)
