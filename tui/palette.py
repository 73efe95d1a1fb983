"""Semantic styles for Rich text, with a NO_COLOR variant.

Under NO_COLOR Textual turns colours to grey, so red and yellow would fade into the
background; the monochrome palette marks severity with weight and reverse video instead
(and every level also has a word: CRIT, WARN, down...). ``MonitorApp`` picks the palette.
"""

from __future__ import annotations

COLOR = {"critical": "bold red", "warning": "yellow", "ok": "green", "info": "cyan",
         "accent": "cyan", "flag": "magenta", "muted": "dim", "plain": "",
         "bar-critical": "red", "bar-warning": "yellow", "bar-ok": "green"}
# bars and charts are drawn with block characters: reverse video would blank them out
MONO = {"critical": "bold reverse", "warning": "bold", "ok": "", "info": "", "accent": "",
        "flag": "italic", "muted": "dim", "plain": "",
        "bar-critical": "", "bar-warning": "", "bar-ok": ""}
_current = COLOR


def use_color(on: bool) -> None:
    global _current
    _current = COLOR if on else MONO


def style(name: str) -> str:
    """The Rich style of a semantic name (critical, warning, ok, info, accent, flag, muted)."""
    return _current.get(name, "")


def color_on() -> bool:
    """True unless NO_COLOR: charts pick their series colours by it."""
    return _current is COLOR
