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
