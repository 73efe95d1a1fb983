"""Toasts that leave the charts and tables visible at 80x24.

Textual's toast is 60 columns (at most half the screen) with a blank row above and below
its text and the title on a line of its own: at 80x24 one critical toast was 5 rows and two
climbed over the host screen's chart and the dashboard's gauges. Here (with ``Toast`` in
app.tcss: 44 columns, at most 45%, no blank rows) the title leads the message's own line,
a critical toast is cut to two lines (the alert feed and the alerts screen hold every
alert, the header counts them) and only the newest ``MAX_TOASTS`` stay.
"""

from __future__ import annotations

import textwrap
from typing import Any

from textual.app import App

MAX_TOASTS = 2
CRITICAL_TIMEOUT_S = 6.0  # long enough to read two lines; the feed keeps the alert
TOAST_WIDTH, TOAST_MAX_SHARE = 44, 0.45  # as app.tcss's Toast rule
TOAST_CHROME = 3  # the coloured left edge and one column of padding each side
CRITICAL_LINES = 2


def fold(title: str, message: str) -> str:
    """The title on the message's line: ``CRITICAL · high_cpu_usage on web-2: ...``."""
    return f"{title} · {message}" if title else message


def text_width(screen_width: int) -> int:
    """The columns of text a toast holds on a screen ``screen_width`` wide (Textual's toast
    rack keeps two columns for its scroll bar: the 45% is of the rest)."""
    toast = min(TOAST_WIDTH, int((screen_width - 2) * TOAST_MAX_SHARE))
    return max(10, toast - TOAST_CHROME)


def fit(text: str, width: int, lines: int = CRITICAL_LINES) -> str:
    """``text`` cut at a word to ``lines`` lines of ``width``, ending with … when cut."""
    wrapped = textwrap.wrap(text, width)
    if len(wrapped) <= lines:
        return text
    *kept, last = wrapped[:lines]
    while len(last) + 2 > width:  # room for " …": drop the last word (or cut a long one)
        last = last.rsplit(" ", 1)[0] if " " in last else last[:width - 2]
    return " ".join([*kept, last + " …"])


def make_room(app: App[Any]) -> None:
    """Forget the oldest notifications so the one arriving makes ``MAX_TOASTS``: called from
    the app's ``on_notify``, which Textual runs before its own ``App._on_notify`` adds the
    new one and redraws the toasts. Textual has no public call to drop one notification; its
    own toasts use ``_unnotify`` when they expire (tests/unit/test_tui_toasts.py holds this)."""
    shown = list(app._notifications)  # oldest first
    for old in shown[:max(0, len(shown) - (MAX_TOASTS - 1))]:
        app._unnotify(old, refresh=False)
