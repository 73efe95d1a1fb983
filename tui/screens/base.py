"""What every main screen offers the app: a typed handle on the app, and the app's hooks.

The app reaches the current screen through these methods (no ``getattr`` probing), and the
screens reach the app through ``console`` (a ``MonitorApp``, not ``Any``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual import events
from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from tui.app import MonitorApp


R = TypeVar("R")


class ConsoleScreen(Screen[None]):
    ready = False
    _hidden_with: tuple[frozenset[str], frozenset[str], str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built with the stylesheet as it is now: a mode's first switch need not restyle
        # the whole app twice (Textual's ``_init_mode`` and ``switch_mode`` call
        # ``refresh_css`` for a screen that never saw one: 10-40 ms each on a shared box,
        # and every table of every screen repainted from scratch after). A theme changed
        # later still restyles it when it next shows (its count is then behind).
        self._css_update_count = self.app._css_update_count

    @property
    def resumable(self) -> bool:
        """A resume should refresh the data: built, on top (not passed over in a burst of
        switches: 1234), and the app not shutting down (its widgets may be gone)."""
        app = self.app
        return self.ready and self.is_current and app.is_running and not app._exit

    def _app_style_key(self) -> tuple[frozenset[str], frozenset[str], str]:
        """What this screen's styles take from outside it: the app's classes (``-stale``),
        pseudo-classes and theme."""
        app = self.app
        return frozenset(app.classes), frozenset(app.get_pseudo_classes()), app.theme

    def _on_screen_suspend(self) -> None:
        self._hidden_with = self._app_style_key()

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        """Runs before Textual's own handler: a screen switch (1-4) restyles every widget of
        the screen and drops the tables' render caches (8-15 ms a switch at 80x24), though
        nothing the styles depend on changed while the screen was hidden. Then skip it."""
        if event.refresh_styles and self._hidden_with == self._app_style_key():
            event.refresh_styles = False
        # Textual dispatches one of ``_on_x`` / ``on_x`` per class (the underscored one
        # first), so ConsoleScreen.on_screen_resume is never called for a resume: do its work
        if self.app.is_running and not self.app._exit:  # widgets may be gone at shutdown
            self.console.rewind.decorate(self)

    @property
    def console(self) -> MonitorApp:
        return cast("MonitorApp", self.app)

    def refresh_data(self) -> None:
        """Repaint from the model (called twice a second and after each snapshot)."""

    def on_screen_resume(self) -> None:
        """The rewind banner follows the console from screen to screen (tui/rewind.py).
        Called by ``_on_screen_resume`` (after the screen's own handler) and by
        ``moment_changed``; Textual itself calls only ``_on_screen_resume`` here."""
        self.console.rewind.decorate(self)

    def moment_changed(self) -> None:
        """The moment shown changed (rewind, or back to live): drop what was fetched for
        the old one (histories, logs, timelines), as on coming back to the screen."""
        type(self).on_screen_resume(self)

    def selected_alert(self) -> dict[str, Any] | None:
        """The alert `a`, `u` and `x` act on, if any."""
        return None

    def silence_matchers(self) -> list[str] | None:
        """`x`: the matchers to prefill, when the screen knows better than host and rule."""
        return None

    def step_back(self) -> bool:
        """`escape`: undo the screen's own state (filter, search); False when there is none."""
        return False

    def focus_search(self) -> bool:
        """`/`: focus the screen's search box; False when the screen has none."""
        return False

    def open_selected(self) -> None:
        """`enter`: open what is selected."""

    def key_arrived(self, key: str) -> bool:
        """``key`` as it reaches the app (tui/held_keys.py), before any widget or binding
        sees it and in order with the app's own messages (new data, repaints). True: done
        here, nobody else gets it. For what must be read the moment the key was pressed."""
        return False

    def select_alert(self, alert_id: str) -> None:
        """Put the cursor on an alert (the dashboard's feed opens the alerts screen so)."""


class OnceModal(ModalScreen[R]):
    """A dialog that closes once. Two Enter presses queued before the first one closed it
    (a fast typist, a burst over SSH) called ``dismiss`` twice: the ack was sent twice and
    the second pop took the screen under the dialog with it (ScreenStackError)."""

    _dismissed = False

    def dismiss(self, result: R | None = None) -> AwaitComplete:
        if self._dismissed or self.app.screen is not self:
            return AwaitComplete()
        self._dismissed = True
        return super().dismiss(result)
