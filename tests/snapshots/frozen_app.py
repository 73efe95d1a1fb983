"""The app factory of the TUI's snapshots, screenshots and Pilot tests: frozen data and clock.

Also the small helpers the Pilot tests share (a poll with a deadline, never a fixed sleep).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from tui.app import MonitorApp
from tui.sources.frozen import FrozenSource

# screen name -> keys pressed after start-up to reach it
SCREENS: dict[str, list[str]] = {
    "dashboard": [],
    "alerts": ["2"],
    "events": ["3"],
    "host": ["4"],
    "help": ["question_mark"],
    "ack": ["2", "a"],
    "compact": ["c"],
    "incident": ["2", "enter"],
    "chart": ["4", "greater_than_sign", "greater_than_sign", "greater_than_sign",
              "greater_than_sign"],  # the host screen's chart at 30 days
    "compare": ["space", "down", "space", "down", "space", "v"],
    # t, type -2h14m, enter: the fleet at its past incident (tui/sources/frozen_past.py)
    "rewind": ["t", "minus", "2", "h", "1", "4", "m", "enter"],
}


def make_app(select: str = "web-2", refresh_s: float = 3600.0, theme: str | None = None,
             **kwargs: Any) -> MonitorApp:
    """A MonitorApp on FrozenSource with ``select`` as the selected host.

    For pictures ``refresh_s`` is long so the periodic repaint never races a screenshot (the
    frozen source posts everything at start-up and repaints follow each message); Pilot
    tests pass a short one.
    """
    app = MonitorApp(FrozenSource(**kwargs), author="ana", refresh_s=refresh_s, theme=theme)
    app.selected_host = select
    return app


def source(app: MonitorApp) -> FrozenSource:
    assert isinstance(app.source, FrozenSource)
    return app.source


def ops(app: MonitorApp, op: str) -> list[dict[str, Any]]:
    """The arguments of every ``op`` request the app sent."""
    return [args for name, args in source(app).requests if name == op]


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type into the focused Input (one insert, not a key press per character: Pilot waits
    for idle after every key, which adds up)."""
    from textual.widgets import Input

    focused = pilot.app.focused
    assert isinstance(focused, Input), f"typing needs a focused Input, not {focused!r}"
    focused.insert_text_at_cursor(text)
    await pilot.pause()


async def until(pilot: Pilot[Any], cond: Callable[[], Any], timeout: float = 5.0,
                what: str = "condition") -> Any:
    """Let the app run until ``cond()`` is truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = cond()
        if result:
            return result
        await pilot.pause()
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
