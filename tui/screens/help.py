"""Help (?): every key of the app and of the screen below, generated from the bindings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.screens.base import OnceModal


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


class HelpScreen(OnceModal[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Close"),
                Binding("question_mark", "dismiss(None)", "Close", key_display="?")]

    def compose(self) -> ComposeResult:
        below = next((s for s in reversed(self.app.screen_stack) if s is not self), None)
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", justify="right")
        table.add_column()
        for key, text in binding_rows(list(self.app.BINDINGS), below):  # type: ignore[arg-type]
            table.add_row(Text(key), Text(text))
        with VerticalScroll(id="help") as box:
            box.border_title = "Keys"
            box.border_subtitle = "escape closes"
            yield Static(table)
