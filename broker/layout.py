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
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")
Layout = tuple[tuple[str, ...], dict[str, int]]

_LAYOUTS: dict[tuple[str, ...], Layout] = {}
_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}
_SETS: dict[tuple[str, ...], frozenset[str]] = {}
MAX_LAYOUTS = 10_000  # distinct name tuples kept; past it the cache starts again


def remember(cache: dict[K, V], key: K, value: V, limit: int = MAX_LAYOUTS) -> V:
    """Keep ``value`` under ``key`` in a memo of at most ``limit`` entries (past it the memo
    starts again: the shapes of a fleet are few, a flood of odd ones must not grow it);
    returns ``value``. The callers look up first and call this on a miss only."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value


def names(found: tuple[str, ...]) -> tuple[str, ...]:
    """The shared tuple equal to ``found``, its names interned."""
    shared = _NAMES.get(found)
    if shared is None:
        shared = remember(_NAMES, found, tuple(map(sys.intern, found)))
    return shared


def layout(cols: tuple[str, ...]) -> Layout:
    """(the shared tuple equal to ``cols``, its name -> column index)."""
    found = _LAYOUTS.get(cols)
    if found is None:
        shared = names(cols)
        found = remember(_LAYOUTS, shared, (shared, {name: i for i, name in enumerate(shared)}))
    return found


def name_set(found: tuple[str, ...]) -> frozenset[str]:
    """The shared frozenset of ``found``'s names."""
    s = _SETS.get(found)
    if s is None:
        s = remember(_SETS, found, frozenset(names(found)))
    return s
