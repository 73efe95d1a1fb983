"""`t`: pick the moment to rewind to: type a time or choose a preset; bad text says why."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.format import printable
from tui.rewind_time import EXAMPLES, PRESETS, ago, parse, when
from tui.screens.base import OnceModal


class TimePicker(OnceModal[float | None]):
    """Dismissed with the moment (unix seconds), or None when cancelled."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, now: float, text: str = "") -> None:
        super().__init__()
        self.now = now
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog time-picker") as box:
            box.border_title = "Rewind to"
            box.border_subtitle = "enter: go · escape: cancel"
            yield Input(value=self.text, placeholder=EXAMPLES, id="when")
            yield Label(self._preview(self.text), id="preview", markup=False)
            yield OptionList(*[Option(f"{code:>5}  {words}", id=code)
                               for code, words in PRESETS], id="presets", compact=True)

    def _preview(self, text: str) -> str:
        if not text.strip():
            return "type a time back, or pick a preset below (tab)"
        try:
            t = parse(text, self.now)
        except ValueError as exc:
            return printable(str(exc))
        return f"→ {when(t, self.now)}, {ago(t, self.now)}"

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        label = self.query_one("#preview", Label)
        label.set_class(False, "-error")
        label.update(self._preview(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            t = parse(event.value, self.now)
        except ValueError as exc:
            label = self.query_one("#preview", Label)
            label.update(printable(str(exc)))
            label.set_class(True, "-error")
            return
        self.dismiss(t)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(parse(event.option.id, self.now))

    def action_cancel(self) -> None:
        self.dismiss(None)
