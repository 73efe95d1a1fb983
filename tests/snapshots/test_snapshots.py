"""Every screen at the SSH design size (80x24) and a large terminal (160x50), frozen data."""

from __future__ import annotations

import pytest

from tests.snapshots.frozen_app import SCREENS, make_app

SIZES = {"80x24": (80, 24), "160x50": (160, 50)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(snap_compare, screen: str, size: str) -> None:
    assert snap_compare(make_app(), press=SCREENS[screen], terminal_size=SIZES[size])


def test_dashboard_no_color(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(), terminal_size=(80, 24))


def test_dashboard_light_theme(snap_compare) -> None:
    assert snap_compare(make_app(theme="textual-light"), terminal_size=(80, 24))


def test_reconnecting_dims_data(snap_compare) -> None:
    from tui.messages import ConnectionState

    async def lose_broker(pilot) -> None:
        pilot.app.post_message(ConnectionState("frozen", "reconnecting", "lost frozen"))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=lose_broker)


def test_rewind_picker_says_what_is_wrong(snap_compare) -> None:
    """t, then text the picker cannot read: the error under the box, in place."""
    assert snap_compare(make_app(), press=["t", "minus", "2", "x", "enter"],
                        terminal_size=(80, 24))


def test_marked_hosts_show_a_mark_in_their_rows(snap_compare) -> None:
    """space marks the cursor row for the compare chart: `*` before the host's name."""
    assert snap_compare(make_app(), press=["home", "space", "down", "down", "space", "down"],
                        terminal_size=(80, 24))
