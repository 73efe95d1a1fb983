"""The line that says the console shows the past: REWIND 03:12:00 — 2h 14m ago · step..."""

from __future__ import annotations

from rich.text import Text

from tui.format import printable
from tui.rewind_time import ago, when
from tui.widgets.panel import Panel


def banner_text(target: float, shown: float | None, now: float, step: str, *,
                loading: bool = False, error: str = "", unknown: int = 0) -> Text:
    """What the banner says, at most about 80 columns for the moment and the keys."""
    t = Text()
    t.append(" REWIND ", style="bold reverse")
    t.append(f" {when(target, now)} · {ago(target, now)}", style="bold")
    if error:  # the broker refused the last step: say why where the keys were
        t.append(f" · {printable(error)}", style="bold")
        return t
    t.append(f" · [ ] step {step} · Esc live")
    if loading or shown != target:
        t.append(" · loading…")
    elif unknown:
        t.append(f" · {unknown} host{'s' if unknown != 1 else ''} no data")
    return t


class RewindBanner(Panel):
    """Mounted at the top of a screen while the console is rewound (tui/rewind.py)."""

    DEFAULT_CSS = """
    RewindBanner { height: 1; padding: 0 1; background: $warning; color: $background; }
    """
