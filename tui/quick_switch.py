"""Screen switches (1-4) that paint as soon as the new screen is ready, not 50 ms later.

Textual's ``switch_mode`` holds every paint for a fixed 50 ms (``delay_update``) to mask
the transition. On a loaded machine that timer fires late, and the switch was the slowest
key of the soak. Here the hold ends when the new screen has handled its ``ScreenResume``
(its data refreshed): one paint, with current data, as early as it can be. Switches in a
burst (`1234` over SSH) share one hold, ended by the last screen. A fallback timer ends the
hold if that never comes (never a frozen screen).

The screens are Textual modes, built once and kept; resuming one restyles it only when
something its styles depend on changed while it was hidden (tui/screens/base.py).
"""

from __future__ import annotations

from functools import partial
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
    _holding = False
    _switches = 0  # switches so far: only the last one's screen ends the hold

    def switch_mode(self, mode: str) -> AwaitMount:
        if mode == self.current_mode:
            return super().switch_mode(mode)
        self._switching = True
        try:
            result = super().switch_mode(mode)
        finally:
            self._switching = False
        self._switches += 1
        if self._holding:  # after the ScreenResume just posted to the new screen
            self.screen.call_later(partial(self._end_hold, self._switches))
        return result

    def delay_update(self, delay: float = 0.05) -> None:
        if not self._switching:
            super().delay_update(delay)
            return
        if not self._holding:
            self._holding = True
            self._begin_batch()
            self.set_timer(HOLD_MAX_S, partial(self._end_hold, None), name="switch hold")

    def _end_hold(self, switch: int | None) -> None:
        """End the hold: the screen of ``switch`` is ready (None: the fallback timer)."""
        if not self._holding or (switch is not None and switch != self._switches):
            return
        self._holding = False
        self._end_batch()
        if not self._batch_count:
            self.screen.refresh()
