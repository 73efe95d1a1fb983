"""The event log's live tail: new events shift the rows in place (no rebuild), and the
table shows exactly the newest events, newest first, as they arrive."""

from __future__ import annotations

from typing import Any

from tests.snapshots.frozen_app import make_app, until
from tui.messages import EventReceived

SIZE = (80, 24)


async def test_new_events_shift_the_tail_in_place_and_show_newest_first() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        screen = await until(pilot, lambda: app.current_mode == "events" and app.screen.ready
                             and app.screen, what="events screen")
        table = screen.query_one("#events")
        await until(pilot, lambda: table.row_count > 0, what="the tail")
        clears: list[int] = []
        original = table.clear

        def clear(*args: Any, **kwargs: Any) -> Any:
            clears.append(1)
            return original(*args, **kwargs)

        table.clear = clear
        before = table.row_count
        for i in range(3):
            app.post_message(EventReceived("frozen", {
                "id": f"new{i}", "ts": app.now() + i, "kind": "log", "severity": "info",
                "host": f"web-{i}", "message": f"line {i}"}))
            await until(pilot, lambda i=i: screen._rows and screen._rows[0].get("id") == f"new{i}",
                        what=f"event {i} on top")
        assert table.row_count == before + 3
        assert clears == [], "a new event rebuilt the whole tail"
        shown = [str(table.get_row_at(y)[4]) for y in range(3)]
        assert shown == ["line 2", "line 1", "line 0"]
        assert [str(table.get_row_at(y)[4]) for y in range(table.row_count)] == [
            str(e.get("message", "")) for e in screen._rows]


def new_event(app: Any, i: int) -> EventReceived:
    return EventReceived("frozen", {"id": f"late{i}", "ts": app.now() + i, "kind": "log",
                                    "severity": "info", "host": "web-9", "message": f"late {i}"})


async def events_screen(app: Any, pilot: Any) -> Any:
    await pilot.press("3")
    screen = await until(pilot, lambda: app.current_mode == "events" and app.screen.ready
                         and app.screen, what="events screen")
    table = screen.query_one("#events")
    await until(pilot, lambda: table.row_count > 3, what="the tail")
    return screen, table


async def test_enter_opens_the_event_under_the_cursor_when_rows_arrive_with_it() -> None:
    """Enter, then new events filled in before the screen handled the table's RowSelected:
    the rows shifted under the cursor and the detail of another event opened."""
    from textual import events

    from tui.screens.dialogs import DetailDialog

    for row in (0, 2):  # the top row (the newest) and one further down
        app = make_app()  # no periodic repaint: the fill below is the only one
        async with app.run_test(size=SIZE) as pilot:
            screen, table = await events_screen(app, pilot)
            table.move_cursor(row=row)
            await pilot.pause()
            chosen = screen._rows[row]
            for i in range(3):
                app.post_message(new_event(app, i))
            app.post_message(events.Key("enter", None))
            app.call_later(screen.refresh_data)  # the repaint lands before the RowSelected
            dialog = await until(pilot, lambda app=app: isinstance(app.screen, DetailDialog)
                                 and app.screen, what="the detail")
            assert screen._rows[0]["id"] == "late2", "the new events were not filled in first"
            assert dialog.record["id"] == chosen["id"], (
                f"row {row}: opened {dialog.record['message']!r}, "
                f"not {chosen['message']!r}")


async def test_the_cursor_stays_on_its_event_below_the_top_and_follows_the_top() -> None:
    """New events shift the rows down: a cursor moved down to read an event stays on it;
    a cursor on the top row stays there (the newest event, as a tail follows)."""
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await events_screen(app, pilot)
        table.move_cursor(row=2)
        await pilot.pause()
        reading = screen._rows[2]["id"]
        app.post_message(new_event(app, 0))
        await until(pilot, lambda: screen._rows[0]["id"] == "late0", what="the new event")
        await until(pilot, lambda: screen.selected_event()["id"] == reading,
                    what="the cursor on the event it was on")
        assert table.cursor_row == 3
        table.move_cursor(row=0)
        await pilot.pause()
        app.post_message(new_event(app, 1))
        await until(pilot, lambda: screen._rows[0]["id"] == "late1", what="another")
        await until(pilot, lambda: screen.selected_event()["id"] == "late1",
                    what="the top row following the newest")
        assert table.cursor_row == 0


async def test_a_click_opens_the_event_it_was_on_when_rows_arrive_before_the_screen_acts() -> None:
    """A click on the cursor row posts the table's RowSelected; new events filled in before
    the screen handled it shifted the rows (the top row follows the newest)."""
    from textual.widgets import DataTable

    from tui.screens.dialogs import DetailDialog

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await events_screen(app, pilot)
        chosen = screen._rows[0]
        for i in range(2):
            app.post_message(new_event(app, i))
        await until(pilot, lambda: len(app.model.events) and
                    app.model.events[-1]["id"] == "late1", what="the events in the model")
        row_key = table.coordinate_to_cell_key((0, 0))[0]
        table.post_message(DataTable.RowSelected(table, 0, row_key))  # as a click posts it
        screen.refresh_data()  # the rows shift before the screen handles it
        assert screen._rows[0]["id"] == "late1"
        dialog = await until(pilot, lambda: isinstance(app.screen, DetailDialog)
                             and app.screen, what="the detail")
        assert dialog.record["id"] == chosen["id"]


async def test_a_burst_down_down_enter_moves_then_opens() -> None:
    """Keys arriving together act in their order: the cursor keys are taken as they arrive
    too, so an enter right behind them opens the row they moved to."""
    from textual import events

    from tui.screens.dialogs import DetailDialog

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await events_screen(app, pilot)
        target = screen._rows[2]
        for key in ("down", "down", "enter"):
            app.post_message(events.Key(key, None))
        dialog = await until(pilot, lambda: isinstance(app.screen, DetailDialog)
                             and app.screen, what="the detail")
        assert dialog.record["id"] == target["id"]
        assert table.cursor_row == 2


async def test_a_flood_shows_the_newest_and_says_how_many_more_are_not_shown() -> None:
    """A storm's batch keeps the newest events the tail can show; the rest are counted in
    the tail's title (they are in the broker's store: a search finds them)."""
    from tui.batch import KEEP_EVENTS, Batch
    from tui.messages import FleetChanges
    from tui.screens.events import TAIL_ROWS

    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await events_screen(app, pilot)
        assert "not shown" not in str(table.border_title)
        batch = Batch()
        for i in range(KEEP_EVENTS + 1234):
            batch.add_event({"id": f"st{i}", "ts": app.now() + i, "kind": "host.down",
                             "severity": "warning", "host": f"n{i}", "message": f"down {i}"})
        app.post_message(FleetChanges("frozen", batch))
        await until(pilot, lambda: screen._rows[0]["id"] == f"st{KEEP_EVENTS + 1233}",
                    what="the newest event on top")
        assert table.row_count == TAIL_ROWS
        assert [e["id"] for e in screen._rows[:2]] == [f"st{KEEP_EVENTS + 1233}",
                                                       f"st{KEEP_EVENTS + 1232}"]
        await until(pilot, lambda: "1,234 more not shown" in str(table.border_title),
                    what="the count of events not shown")
