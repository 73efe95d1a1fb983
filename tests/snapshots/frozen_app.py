"""The app factory of snapshots and screenshots: frozen data, frozen clock, fixed selection."""

from __future__ import annotations

from typing import Any

from tui.app import MonitorApp
from tui.datasource import FrozenSource

# screen name -> keys pressed after start-up to reach it
SCREENS: dict[str, list[str]] = {
    "dashboard": [],
    "alerts": ["2"],
    "events": ["3"],
    "host": ["4"],
    "help": ["question_mark"],
    "ack": ["2", "a"],
}


def make_app(select: str = "web-2", **kwargs: Any) -> MonitorApp:
    """A MonitorApp on FrozenSource with ``select`` as the selected host.

    ``refresh_s`` is long so the periodic repaint never races a screenshot; the frozen
    source posts everything at start-up and repaints follow each message.
    """
    app = MonitorApp(FrozenSource(), author="ana", refresh_s=3600.0, **kwargs)
    app.selected_host = select
    return app
