"""Help (?): every key of the app and of the screen below, generated from the bindings.

Built once per kind of screen below and kept (``MonitorApp.action_help`` installs it): `?`
then only pushes it. The keys are plain text wrapped with a hanging indent (``KeyList``):
a Rich table measured its cells on every layout, most of what `?` cost.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.screens.base import OnceModal

GAP = 2


def binding_rows(app_bindings: list[Binding], screen: Screen[object] | None) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    sources = [app_bindings]
    if screen is not None:
        sources.append([b for b in screen.BINDINGS if isinstance(b, Binding)])
    for bindings in sources:
        for b in bindings:
            if b.key in seen or not b.description:
                continue
            seen.add(b.key)
            key = b.key_display or b.key
            rows.append((key, b.tooltip or b.description))
    rows.append(("ctrl+p", "Command palette: every key above, by name"))
    return rows


class KeyList:
    """Keys right-aligned in a column, what they do wrapped beside them; one Text a width."""

    def __init__(self, rows: Iterable[tuple[str, str]]) -> None:
        self.rows = list(rows)
        self.key_w = max((len(k) for k, _ in self.rows), default=0)
        self._texts: dict[int, Text] = {}

    def text(self, width: int) -> Text:
        text = self._texts.get(width)
        if text is None:
            indent = self.key_w + GAP
            text = Text()
            for i, (key, what) in enumerate(self.rows):
                lines = textwrap.wrap(what, max(8, width - indent)) or [""]
                text.append(key.rjust(self.key_w), style="bold")
                text.append(" " * GAP + lines[0])
                for line in lines[1:]:
                    text.append("\n" + " " * indent + line)
                if i < len(self.rows) - 1:
                    text.append("\n")
            self._texts[width] = text
        return text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = self.key_w + GAP + max((len(w) for _, w in self.rows), default=0)
        return Measurement(self.key_w + GAP + 8, min(widest, options.max_width))


class HelpScreen(OnceModal[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Close"),
                Binding("question_mark", "dismiss(None)", "Close", key_display="?")]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = KeyList(rows)

    def help_text(self, width: int = 60) -> Text:
        return self.keys.text(width)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as box:
            box.border_title = "Keys"
            box.border_subtitle = "escape closes"
            yield Static(self.keys)

    def reopen(self) -> None:
        """Shown again (the app keeps it): it may close again."""
        self._dismissed = False
