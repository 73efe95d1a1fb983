"""Screen switches (1-4) that paint as soon as the new screen is ready, not 50 ms later.

Textual's ``switch_mode`` holds every paint for a fixed 50 ms (``delay_update``) to mask
the transition. On a loaded machine that timer fires late, and the switch was the slowest
key of the soak. Here the hold ends when the new screen has handled its ``ScreenResume``
(its data refreshed): one paint, with current data, as early as it can be. A fallback
timer ends the hold if that never comes (never a frozen screen).

The screens are Textual modes, built once and kept; resuming one restyles it only when
something its styles depend on changed while it was hidden (tui/screens/base.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widget import AwaitMount

if TYPE_CHECKING:
    from textual.app import App

    Base = App[None]
else:
    Base = object

HOLD_MAX_S = 0.5  # the hold ends by then whatever happens


class QuickSwitch(Base):
    """Mixed into MonitorApp, before ``App``."""

    _switching = False

    def switch_mode(self, mode: str) -> AwaitMount:
        if mode == self.current_mode:
            return super().switch_mode(mode)
        self._switching = True
        try:
            result = super().switch_mode(mode)
        finally:
            self._switching = False
        if self._holding:
            self.screen.call_later(self._end_hold)  # after the ScreenResume posted above
        return result

    _holding = False

    def delay_update(self, delay: float = 0.05) -> None:
        if not self._switching or self._holding:
            super().delay_update(delay)
            return
        self._holding = True
        self._begin_batch()
        self.set_timer(HOLD_MAX_S, self._end_hold, name="switch hold")

    def _end_hold(self) -> None:
        if not self._holding:
            return
        self._holding = False
        self._end_batch()
        if not self._batch_count:
            self.screen.refresh()
