"""The alerts screen's table: a change that keeps the rows and their order updates the cells
in place (no rebuild: no new layout, the cursor stays), anything else rebuilds; either way
the table shows exactly what the model holds, styles included."""

from __future__ import annotations

import copy
from typing import Any

from tests.snapshots.frozen_app import make_app, until
from tui.messages import AlertChanged
from tui.sources import frozen_data
from tui.widgets.alert_table import AlertTable
from tui.widgets.rows import same

SIZE = (80, 24)


def shown(table: AlertTable) -> dict[str, list[Any]]:
    """Each alert row's cells as the table holds them."""
    return {key: [table.get_cell(key, c.key) for c in table.ordered_columns]
            for key in table._ids if key is not None}


async def test_acks_silences_and_values_update_cells_in_place_and_order_changes_rebuild(
        ) -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table: AlertTable = await until(pilot, lambda: app.current_mode == "alerts" and
                                        app.screen.ready and app.screen.query_one(AlertTable),
                                        what="alerts screen")
        await until(pilot, lambda: len(table._ids) > 3, what="rows")
        clears: list[int] = []
        original = table.clear

        def clear(*args: Any, **kwargs: Any) -> Any:
            clears.append(1)
            return original(*args, **kwargs)

        table.clear = clear  # type: ignore[method-assign]
        table.move_cursor(row=2, animate=False)
        cursor = table.cursor_row
        aid = next(a for a in table._ids if a is not None
                   and app.model.alerts[a]["state"] == "firing"
                   and not app.model.alerts[a]["silenced"])
        alert = copy.deepcopy(app.model.alerts[aid])
        alert.update(acked=True, silenced=["s1"], value=float(alert["value"]) + 1.0)
        app.post_message(AlertChanged("frozen", alert))
        await until(pilot, lambda: "ack sil" in str(table.get_cell(aid, "flags")), what="flags")
        assert clears == [], "an ack rebuilt the whole table"
        assert table.cursor_row == cursor
        host = table.get_cell(aid, "host")
        assert host.plain == alert["host"] and str(host.style) == "dim", \
            "silenced: the host cell is dimmed (same text, new style)"
        columns = [str(c.key.value) for c in table.ordered_columns]
        for key, cells in shown(table).items():  # every row as a fresh build would show it
            want = table._cells(app.model.alerts[key], app.now())
            for column, cell, cell_want in zip(columns, cells, want, strict=True):
                assert column == "age" or same(cell, cell_want), (key, column, cell, cell_want)
        # a new alert changes the set of rows: rebuilt, and shown
        new = frozen_data.alert("zz-new", "disk_full", "web-1", "warning", "disk./.percent",
                                97.0, 95.0, app.now())
        app.post_message(AlertChanged("frozen", new))
        await until(pilot, lambda: "zz-new" in table._ids, what="new row")
        assert clears, "a new alert must rebuild the rows"


def test_same_compares_style_not_only_text() -> None:
    from rich.text import Text

    assert same(Text("a", style="dim"), Text("a", style="dim"))
    assert not same(Text("a", style="dim"), Text("a"))
    assert not same(Text("a", justify="right"), Text("a"))
    assert same("x", "x") and not same("x", "y")


async def test_home_stays_on_the_first_row_when_the_rows_are_rebuilt() -> None:
    """`home` puts the cursor on the first row (a heading); an alert arriving next rebuilt
    the rows and moved it to the first alert, so `home` seemed to do nothing (soak)."""
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table: AlertTable = await until(pilot, lambda: app.current_mode == "alerts" and
                                        app.screen.ready and app.screen.query_one(AlertTable),
                                        what="alerts screen")
        await until(pilot, lambda: table.cursor_row == 1, what="first alert selected")
        await pilot.press("home")
        await until(pilot, lambda: table.cursor_row == 0, what="home")
        new = frozen_data.alert("zz-new", "disk_full", "web-1", "warning", "disk./.percent",
                                97.0, 95.0, app.now())
        app.post_message(AlertChanged("frozen", new))
        await until(pilot, lambda: "zz-new" in table._ids, what="rebuilt with the new alert")
        assert table.cursor_row == 0
