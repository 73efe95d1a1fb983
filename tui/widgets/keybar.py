"""The key line at the bottom of each screen: the app's shown keys, drawn as one line of text.

Textual's ``Footer`` is a widget per key and recomposes them all whenever the bindings
change (each screen switch, each toast): 50-80 ms of a 2-core box per switch with 200 hosts
on screen, in the path of the key that switched. The keys here do not change at run time,
so one ``render`` of text does.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    KeyBar > .keybar--key { color: $accent; text-style: bold; }
    """
    COMPONENT_CLASSES = {"keybar--key"}

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text = Text(no_wrap=True, overflow="crop")
        groups: dict[str, list[str]] = {}
        for binding in self.app.BINDINGS:
            if not isinstance(binding, Binding) or not binding.show:
                continue
            key = binding.key_display or binding.key
            if binding.group is not None:
                groups.setdefault(binding.group.description, []).append(key)
                continue
            text.append(f"{key}", style=key_style)
            text.append(f" {binding.description} ")
        for description, keys in groups.items():
            text.append(" ")
            text.append("".join(keys), style=key_style)
            text.append(f" {description}")
        return text
