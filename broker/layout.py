"""Shared column layouts for the flat per-host buffers (ingest history, store rollups).

Most hosts of a fleet send the same metric names, so a tuple of names and its name -> column
dict are made once and shared by every buffer with those columns. A layout is never changed:
a buffer that gains a name takes the layout of the longer tuple.
"""

from __future__ import annotations

Layout = tuple[tuple[str, ...], dict[str, int]]

_LAYOUTS: dict[tuple[str, ...], Layout] = {}
MAX_LAYOUTS = 10_000  # distinct name tuples kept; past it the cache starts again


def layout(names: tuple[str, ...]) -> Layout:
    """(the shared tuple equal to ``names``, its name -> column index)."""
    found = _LAYOUTS.get(names)
    if found is None:
        if len(_LAYOUTS) >= MAX_LAYOUTS:
            _LAYOUTS.clear()
        found = _LAYOUTS[names] = (names, {name: i for i, name in enumerate(names)})
    return found
