"""Textual's per-widget line cache outliving its widget (Textual 8.2): a fix at import.

``StylesCache.get_inner_outer`` (textual/_styles_cache.py) is an ``lru_cache(1024)`` on a
method, so its key holds ``self``: the StylesCache of every widget drawn, up to 1,024 of
them, stays alive after the widget is gone (a dialog closed, a toast expired, the incident
view's parts rebuilt), and with it every line it last drew, each a Strip holding seven
small caches of further Strips. Measured with the soak's walk against 200 simulated hosts
(tests/soak): after 2.5 minutes 683 such dead caches held most of the 240,000 objects every
full garbage collection scanned. The two styles depend only on the two colours: cached on
those here, nothing of a widget is kept. Reported upstream as Textualize/textual#6665 (open
at the time of writing): drop this module once the Textual pinned has the fix.
"""

from __future__ import annotations

from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


@lru_cache(1024)
def inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """What ``StylesCache.get_inner_outer`` returns, keyed on the colours only."""
    return (Style(background=base_background + background),
            Style(background=base_background))


def _get_inner_outer(self: StylesCache, base_background: Color,
                     background: Color) -> tuple[Style, Style]:
    return inner_outer(base_background, background)


def install() -> None:
    """Idempotent; the original cache is emptied (it may hold widgets' caches already)."""
    original = StylesCache.__dict__.get("get_inner_outer")
    if original is not _get_inner_outer:
        clear = getattr(original, "cache_clear", None)
        if clear is not None:
            clear()
        StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[assignment, method-assign]
