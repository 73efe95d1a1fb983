"""`/` and the keys that follow it: typed into the search box, never run as commands.

Over SSH keystrokes arrive in bursts: `/queue` reached the app as six keys at once, and
before the search box had focus `q` quit the app (`/kind:alert` opened Simulate). Keys reach
the app's ``on_event`` before any widget or binding sees them; from the moment `/` arrives
there, the keys are held and typed into the box once it has focus. Escape drops them.

The current screen sees each other key here too (``ConsoleScreen.key_arrived``): the event
log's table moves and opens as its keys arrive, before a repaint queued behind them can
shift the rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import App
from textual.screen import ModalScreen
from textual.widgets import Input

from tui.screens.base import ConsoleScreen

TRIES = 50  # refreshes to wait for the box before giving the keys back (never dead)

if TYPE_CHECKING:
    Base = App[None]
else:
    Base = object


class HeldKeys(Base):
    """Mixed into MonitorApp, before ``App``."""

    _typed: list[str] | None = None  # keys typed after `/` until the box has focus
    _typed_tries = 0

    def action_search(self) -> None:
        """Focus a search box. Keys typed before it has focus (a burst over SSH: `/queue`)
        are held and typed into it, so none of them runs as a command."""
        if self._typed is None:
            self._typed, self._typed_tries = [], 0
            self._to_search_box()

    def _to_search_box(self) -> None:
        if self._typed is None:
            return  # escape meanwhile
        self._typed_tries += 1
        screen = self.screen
        if isinstance(screen, ConsoleScreen) and screen.ready and screen.focus_search():
            self.call_after_refresh(self._flush_typed)
        elif self._typed_tries > TRIES:
            self._typed = None  # never dead: give the keys back
        else:
            if self.current_mode != "events" and not isinstance(screen, ModalScreen):
                self.switch_mode("events")
            self.call_after_refresh(self._to_search_box)

    def _flush_typed(self) -> None:
        typed = self._typed
        if typed is None:
            return
        focused = self.focused
        if not isinstance(focused, Input):
            self._typed_tries += 1
            if self._typed_tries > TRIES:
                self._typed = None
            else:
                self.call_after_refresh(self._flush_typed)
            return
        self._typed = None
        text, enter = "".join(typed), False
        if "\n" in text:
            text, enter = text.split("\n", 1)[0], True
        if text:
            focused.insert_text_at_cursor(text)
        if enter:
            self.call_later(focused.action_submit)

    async def on_event(self, event: events.Event) -> None:
        """Keys reach the app here first, before any widget or binding sees them: `/` starts
        holding keys at once (its binding would run only after the keys queued behind it
        had already gone to the focused widget and its bindings)."""
        if isinstance(event, events.Key) and not event.is_forwarded \
                and not isinstance(self.screen, ModalScreen):
            if event.key == "slash" and self._typed is None \
                    and not isinstance(self.focused, Input):
                self.action_search()
                return
            if event.key == "escape":
                self._typed = None
        typed = self._typed
        if typed is not None and isinstance(event, events.Key) and not event.is_forwarded \
                and not isinstance(self.screen, ModalScreen):
            if event.key == "enter":
                typed.append("\n")
                return
            if event.key == "backspace":
                if typed:
                    typed.pop()
                return
            if event.is_printable and event.character and "\n" not in typed:
                typed.append(event.character)
                return
            if "\n" in typed and event.key != "escape":
                return  # after enter: the search runs first
        if typed is None and isinstance(event, events.Key) and not event.is_forwarded:
            screen = self.screen
            if isinstance(screen, ConsoleScreen) and screen.ready \
                    and screen.key_arrived(event.key):
                return
        await super().on_event(event)

