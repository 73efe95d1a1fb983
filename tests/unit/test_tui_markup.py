"""What an operator types, or a broker sends, is never read as Textual markup.

A border title is markup unless it is a ``Content``: the events screen's "0 results for
'...'" with a query holding ``[[[`` and a quote raised MarkupError and the console exited
(found driving it at 10,000 hosts in tmux, keys typed where a search box had not opened).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Input

from tests.snapshots.frozen_app import make_app, type_text, until
from tests.unit.test_tui_incident import burst, open_incident

SIZE = (80, 24)
HOSTILE = "cpu>50 [[[api [b]x[/] 'quoted"


def title(widget: Any) -> str:
    """The title as drawn (its getter hands back markup, whose round trip is lossy)."""
    return widget._border_title.plain if widget._border_title is not None else ""


async def test_a_search_with_brackets_and_quotes_shows_as_typed() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash")
        await until(pilot, lambda: isinstance(app.focused, Input), what="search box")
        await type_text(pilot, HOSTILE)
        await pilot.press("enter")
        table = app.screen.query_one("#events", DataTable)
        await until(pilot, lambda: "results for" in title(table), what="the results' title")
        await pilot.pause()
        assert app.is_running and repr(HOSTILE) in title(table)
        await pilot.press("escape")
        await until(pilot, lambda: title(table) == "live tail", what="the live tail")


async def test_an_incident_filter_with_brackets_shows_as_typed() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_incident(pilot, app)
        burst(app, "/[b]x[/] [/]")
        box = screen.query_one("#inc-filter", Input)
        await until(pilot, lambda: box.value == "[b]x[/] [/]", what="typed into the filter")
        await pilot.pause()
        assert app.is_running and "matching '[b]x[/] [/]'" in title(
            screen.query_one("#inc-logbox"))


def test_no_border_title_is_built_from_a_formatted_string() -> None:
    """Every border title set from data is a Content (literal titles may stay strings)."""
    root = Path(__file__).resolve().parents[2] / "tui"
    bad = []
    for path in root.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = re.search(r"border_(?:sub)?title = (.*)", line)
            if m and not re.match(r'(Content\(|"[^"{]*"$)', m.group(1)):
                bad.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert not bad, "\n".join(bad)
