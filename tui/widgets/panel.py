"""A box of text whose size the layout fixes: changing the text repaints it, nothing more.

``Static.update`` asks for a layout pass of the whole screen (the text might change the
widget's size); with 200 hosts that pass took 50-100 ms, twice a second for the summary
line alone, and keys waited behind it. Every use of ``Panel`` has its height set in CSS.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class Panel(Widget):
    DEFAULT_CSS = "Panel { height: 1; }"

    def __init__(self, text: str | Text = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.text = text if isinstance(text, Text) else Text(text)

    def update(self, text: str | Text) -> None:
        text = text if isinstance(text, Text) else Text(text)
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Text:
        return self.text
