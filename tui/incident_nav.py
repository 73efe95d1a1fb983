"""Into and out of the incident view (tui/screens/incident.py): it opens on top of whatever
screen listed the alert, and leaves for the host screen or the event log at the start.

Mixed into MonitorApp (before ``App``), as tui/held_keys.py is: the app's module stays small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.screen import Screen

if TYPE_CHECKING:
    Base = App[None]
else:
    Base = object

TRIES = 50  # refreshes to wait for the event screen to mount


class IncidentNav(Base):
    def open_incident(self, alert_id: str, origin: Screen[Any] | None = None) -> None:
        """Enter on an alert, wherever alerts are listed. One screen, installed once and
        pushed again: composing its widgets afresh cost most of an open on a loaded box.

        ``origin``: the screen whose row was selected. A table's RowSelected is handled
        after the keys queued behind the enter: `enter x` fast opened the silence dialog
        first and then the incident over it; `enter 1` pushed it over the dashboard. When
        ``origin`` is no longer on top, the enter is dropped (the later key won)."""
        from tui.screens.incident import IncidentScreen

        if origin is not None and self.screen is not origin:
            return

        if not self.is_screen_installed("incident"):
            self.install_screen(IncidentScreen(alert_id), "incident")
        screen = self.get_screen("incident", IncidentScreen)
        if self.screen is screen:
            screen.load(alert_id)
        elif screen not in self.screen_stack:
            screen.open(alert_id)
            self.push_screen(screen)

    def close_incident(self) -> None:
        """A view key (1-4) or a key that leaves: the incident (and the compare chart) is a
        detail of the view under it, not a place of its own to come back to."""
        from tui.screens.compare import CompareScreen
        from tui.screens.incident import IncidentScreen

        while isinstance(self.screen, (IncidentScreen, CompareScreen)):
            self.pop_screen()

    def leave_incident(self, mode: str, query: str = "") -> None:
        """To the ``mode`` screen; for the event log, with ``query`` run there."""
        self.close_incident()
        if self.current_mode != mode:
            self.switch_mode(mode)
        if query:
            self.call_after_refresh(self._run_query, query, 0)

    def _run_query(self, query: str, tries: int) -> None:
        from tui.screens.events import EventsScreen

        screen = self.screen
        if isinstance(screen, EventsScreen) and screen.ready:
            screen.run_query(query)
        elif tries < TRIES and self.current_mode == "events":
            self.call_after_refresh(self._run_query, query, tries + 1)
