"""Give freed heap memory back to the system (glibc's ``malloc_trim``) every 10 s.

CPython frees small objects into its own arenas, but larger blocks (arrays, dict tables,
SQLite's buffers, the frames queued during a burst) go through glibc ``malloc``, which keeps
what a burst freed for reuse instead of unmapping it. The broker has such bursts: a fleet
joining (10,000 new hosts in a few seconds), every closing minute of rollups (210,000 rows
at 10,000 hosts, with the ingest inbox filling while they are written). Measured at 10,000
hosts: ``malloc_trim(0)`` took 2.6 ms and brought RSS from 284 to 267 MB, 354 to 332 MB after
a minute close (docs/internals.md, "Memory"): 0.03 % of a core at one call per 10 s, so
the start-up burst is given back within 10 s of its end. Elsewhere than glibc (musl, macOS)
it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIM_EVERY_S = 10.0


def _find() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn  # type: ignore[no-any-return]


_TRIM = _find()


def trim() -> bool:
    """Return free heap pages to the system; False where there is no ``malloc_trim``."""
    if _TRIM is None:
        return False
    try:
        _TRIM(0)
    except OSError as e:  # pragma: no cover - a libc that refuses: not worth stopping for
        log.debug("malloc_trim failed: %s", e)
        return False
    return True


class Trimmer:
    """Calls ``trim`` when ``poll(now)`` finds TRIM_EVERY_S passed since the last one."""

    def __init__(self, every: float = TRIM_EVERY_S) -> None:
        self.every = every
        self.last: float | None = None
        self.trims = 0

    def poll(self, now: float) -> None:
        if self.last is None:
            self.last = now
        elif now - self.last >= self.every:
            self.last = now
            if trim():
                self.trims += 1
