"""The key line at the bottom of each screen: the app's shown keys, drawn as one line of text.

Textual's ``Footer`` is a widget per key and recomposes them all whenever the bindings
change (each screen switch, each toast): 50-80 ms of a 2-core box per switch with 200 hosts
on screen, in the path of the key that switched. The keys here do not change at run time,
so one ``render`` of text does.

When the line is wider than the terminal (80 columns hold all but one of the app's keys),
the keys of ``DROP_FIRST`` leave it in that order until it fits: the views (``1234
views``), help and quit stay, and every key is still in the help (``?``) and the palette.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget

# actions whose keys leave a narrow key line first, least needed first: each has a sibling
# on the line (u of a, p of t) or is rarer in an incident than the keys kept
DROP_FIRST = ("unack", "pause", "simulate", "rewind", "silence", "search", "ack")


def key_items(bindings: Sequence[object]) -> list[tuple[str, str, str | None]]:
    """(key text, description, action or None for a group) of the shown bindings, in order;
    a group (the views) is one item of its keys run together, after the single keys."""
    items: list[tuple[str, str, str | None]] = []
    groups: dict[str, list[str]] = {}
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.show:
            continue
        key = binding.key_display or binding.key
        if binding.group is not None:
            groups.setdefault(binding.group.description, []).append(key)
        else:
            items.append((key, binding.description, binding.action))
    items.extend(("".join(keys), description, None) for description, keys in groups.items())
    return items


def item_width(key: str, description: str, action: str | None) -> int:
    # a key is "k Desc " and a group " 1234 desc": what render appends for each
    return len(key) + len(description) + 2


def fit(items: list[tuple[str, str, str | None]], width: int) -> list[tuple[str, str, str | None]]:
    """``items`` less the ones of DROP_FIRST, in that order, until they fit in ``width``."""
    kept = list(items)
    for action in DROP_FIRST:
        if sum(item_width(*item) for item in kept) <= width:
            break
        kept = [item for item in kept if item[2] != action]
    return kept


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    KeyBar > .keybar--key { color: $accent; text-style: bold; }
    """
    COMPONENT_CLASSES = {"keybar--key"}

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text = Text(no_wrap=True, overflow="crop")
        for key, description, action in fit(key_items(self.app.BINDINGS), self.size.width):
            if action is None:
                text.append(" ")
                text.append(key, style=key_style)
                text.append(f" {description}")
            else:
                text.append(key, style=key_style)
                text.append(f" {description} ")
        return text
