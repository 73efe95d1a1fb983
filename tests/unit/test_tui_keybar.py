"""The key line at the bottom: at 80 columns it fits and keeps the views, help and quit."""

from __future__ import annotations

from tests.snapshots.frozen_app import make_app, until
from tui.widgets.keybar import KeyBar


def shown(app) -> str:
    bar = app.screen.query_one(KeyBar)
    text = bar.render()
    assert text.cell_len <= bar.size.width, f"{text.plain!r} is wider than {bar.size.width}"
    return text.plain


async def test_key_line_fits_80_columns_with_the_views_and_grows_back() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.query(KeyBar), what="key bar")
        line = shown(app)
        for part in ("1234 views", "? Help", "q Quit", "a Ack", "t Rewind", "x Silence"):
            assert part in line, f"{part!r} missing from {line!r}"
        assert "u Unack" not in line  # the first to leave: a is beside it
        await pilot.resize_terminal(160, 50)
        await until(pilot, lambda: "u Unack" in shown(app), what="every key at 160 columns")
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: "u Unack" not in shown(app), what="the 80-column line")
        assert "1234 views" in shown(app)


async def test_narrow_terminal_drops_keys_in_order_never_the_views() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=(40, 24)) as pilot:
        await until(pilot, lambda: app.screen.query(KeyBar), what="key bar")
        line = shown(app)
        assert "1234 views" in line and "? Help" in line and "q Quit" in line
        assert "a Ack" in line  # the last single key to leave
        assert "s Simulate" not in line and "p Pause" not in line
