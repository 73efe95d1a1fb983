"""The line that says the console shows the past: REWIND 03:12:00 · 2h 14m ago · [ ] step..."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text

from tui.format import printable
from tui.rewind_time import ago, when
from tui.widgets.panel import Panel


@dataclass
class Rewound:
    """What the banner says: the moment asked for and shown, the step, and how it went."""

    target: float
    shown: float | None
    step: str = "1m"
    loading: bool = False
    error: str = ""
    unknown: int = 0


def banner_text(r: Rewound, now: float) -> Text:
    """At most 80 columns for the moment and the keys; a refusal replaces the keys (its
    first clause: the toast has the whole line)."""
    t = Text()
    t.append(" REWIND ", style="bold reverse")
    t.append(f" {when(r.target, now)} · {ago(r.target, now)}", style="bold")
    if r.error:
        t.append(f" · {printable(r.error.split(' (')[0])}", style="bold")
        return t
    t.append(f" · [ ] step {r.step} · Esc live")
    if r.loading or r.shown != r.target:
        t.append(" · loading…")
    elif r.unknown:
        t.append(f" · {r.unknown} host{'s' if r.unknown != 1 else ''} no data")
    return t


class RewindBanner(Panel):
    """Mounted at the top of a screen while the console is rewound (tui/rewind.py); the
    "ago" moves with the clock."""

    DEFAULT_CSS = """
    RewindBanner { height: 1; padding: 0 1; background: $warning; color: $background; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state: Rewound | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._repaint)

    def show(self, state: Rewound) -> None:
        self.state = state
        self._repaint()

    def _repaint(self) -> None:
        if self.state is not None:
            self.update(banner_text(self.state, self.app.source.clock.time()))  # type: ignore[attr-defined]
