"""Wake the log follower when a followed file changes: inotify on Linux, polling elsewhere.

``ChangeWatcher(patterns).wait(timeout)`` returns as soon as something changed in a
directory that holds (or may hold) a followed file, or after ``timeout``. With inotify (the
maintained ``inotify_simple`` package) a written line wakes the follower within about a
millisecond instead of at the next poll; the follower still polls every ``timeout`` seconds
whatever happens, so a missed notification (NFS, a directory created later, inotify watch
limits) costs latency, never lines. Directories are watched, not files, so rotation by
rename and files that appear later are seen too. The set of directories is refreshed on
``refresh()`` (the follower calls it when it rescans its globs).
"""

from __future__ import annotations

import glob
import logging
import os
import select
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

try:  # Linux only; anything else polls
    import inotify_simple as _inotify
except ImportError:  # pragma: no cover - not Linux, or the package is missing
    _inotify = None


def _dirs(patterns: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for p in patterns:
        d = os.path.dirname(os.path.abspath(os.path.expanduser(p))) or "/"
        for match in glob.glob(d) if glob.has_magic(d) else [d]:
            if os.path.isdir(match):
                out.add(match)
    return out


class ChangeWatcher:
    """Block until a watched directory changes, or a timeout; ``mode`` says which method."""

    def __init__(self, patterns: Iterable[str], use_inotify: bool = True) -> None:
        self.patterns = list(patterns)
        self._ino: Any = None
        self._watched: dict[str, int] = {}
        if use_inotify and _inotify is not None:
            try:
                self._ino = _inotify.INotify()
            except OSError as exc:  # too many instances, or not supported here
                log.warning("log capture: inotify unavailable (%s), polling instead", exc)
        self.refresh()

    @property
    def mode(self) -> str:
        return "inotify" if self._ino is not None else "poll"

    def refresh(self) -> None:
        if self._ino is None:
            return
        f = _inotify.flags
        mask = (f.MODIFY | f.CREATE | f.MOVED_TO | f.MOVED_FROM | f.DELETE | f.CLOSE_WRITE
                | f.ATTRIB)
        for d in _dirs(self.patterns) - set(self._watched):
            try:
                self._watched[d] = self._ino.add_watch(d, mask)
            except OSError as exc:
                log.debug("log capture: cannot watch %s: %s", d, exc)
                self._watched[d] = -1  # do not retry every poll

    def wait(self, timeout: float) -> bool:
        """True when a change was signalled, False after ``timeout`` (or when polling)."""
        if self._ino is None:
            time.sleep(timeout)
            return False
        try:
            ready, _, _ = select.select([self._ino.fileno()], [], [], timeout)
        except (OSError, ValueError):
            return False
        if not ready:
            return False
        try:
            self._ino.read(timeout=0)  # drain: one wake-up is enough for a whole burst
        except OSError:
            pass
        return True

    def close(self) -> None:
        if self._ino is not None:
            try:
                self._ino.close()
            except OSError:
                pass
            self._ino = None
