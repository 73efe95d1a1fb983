"""Shared column layouts and name sets for the flat per-host buffers (ingest history, store
rollups, the alert engine's routing).

Most hosts of a fleet send the same metric names, so a tuple of names, its name -> column
dict and its set are made once and shared by every buffer with those columns. A layout is
never changed: a buffer that gains a name takes the layout of the longer tuple. The names
in a shared tuple are interned (``sys.intern``): each host's first frame brings its own
copies of the names (msgpack makes new strings), about 60 bytes a name, which would
otherwise stay alive in that host's structures (55 names: 3.3 KB a host).
"""

from __future__ import annotations

import sys

Layout = tuple[tuple[str, ...], dict[str, int]]

_LAYOUTS: dict[tuple[str, ...], Layout] = {}
_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}
_SETS: dict[tuple[str, ...], frozenset[str]] = {}
MAX_LAYOUTS = 10_000  # distinct name tuples kept; past it the cache starts again


def names(found: tuple[str, ...]) -> tuple[str, ...]:
    """The shared tuple equal to ``found``, its names interned."""
    shared = _NAMES.get(found)
    if shared is None:
        if len(_NAMES) >= MAX_LAYOUTS:
            _NAMES.clear()
        shared = _NAMES[found] = tuple(map(sys.intern, found))
    return shared


def layout(cols: tuple[str, ...]) -> Layout:
    """(the shared tuple equal to ``cols``, its name -> column index)."""
    found = _LAYOUTS.get(cols)
    if found is None:
        if len(_LAYOUTS) >= MAX_LAYOUTS:
            _LAYOUTS.clear()
        shared = names(cols)
        found = _LAYOUTS[shared] = (shared, {name: i for i, name in enumerate(shared)})
    return found


def name_set(found: tuple[str, ...]) -> frozenset[str]:
    """The shared frozenset of ``found``'s names."""
    s = _SETS.get(found)
    if s is None:
        if len(_SETS) >= MAX_LAYOUTS:
            _SETS.clear()
        s = _SETS[found] = frozenset(names(found))
    return s
