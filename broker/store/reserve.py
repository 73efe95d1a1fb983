"""A little disk space kept beside the event store, given up to start on a full disk.

SQLite opens a WAL database only with its ``-shm`` file (32 KiB), which a clean stop
deletes. On a file system with no free byte the open failed, and the broker could not
start: no pages at all, the one thing a full disk must not cause. ``events.db-reserve`` is
256 KiB of allocated blocks (``posix_fallocate``: real blocks, not a sparse file), made
whenever the store opens or its writes resume with at least ``MIN_FREE`` free. An open that
fails on a full disk deletes it and tries once more: the ``-shm`` file and the first WAL
pages fit, the broker starts, and its writes fail and page (``store_failing``) until room
returns, as they do when the disk fills while it runs. ``status`` says ``reserve``:
``kept``, ``released`` (used to start) or ``none`` (the disk never had the room for it).
With no reserve to give up (a disk that never had ``MIN_FREE`` free, a reserve deleted by
hand), the store is opened with its wal-index in heap memory instead of ``-shm``
(``open_anyway``, SQLite's ``unix-excl`` VFS): the broker starts and pages all the same, but
no other process can open the store until it restarts with room; ``status`` says
``shm: memory``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from broker.store.schema import StoreCorrupt, StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")
RESERVE_BYTES = 256 * 1024
MIN_FREE = 8 * 2**20  # made only while the file system has this much free
FULL_BELOW = 2 * RESERVE_BYTES  # an open failing with less free than this: the disk is full


def path_of(db: Path) -> Path:
    return db.with_name(db.name + "-reserve")


def free_bytes(directory: Path) -> int:
    try:
        st = os.statvfs(directory)
    except OSError:
        return 0
    return st.f_bavail * st.f_frsize


def keep(db: Path) -> bool:
    """Make the reserve if it is missing and there is room; True if it is there."""
    p = path_of(db)
    try:
        if p.stat().st_size >= RESERVE_BYTES:
            return True
    except OSError:
        pass
    if free_bytes(db.parent) < MIN_FREE:
        return False
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)
    except OSError as e:
        log.info("event store: no disk space reserve made at %s: %s", p, e)
        p.unlink(missing_ok=True)
        return False
    return True


def read_only(path: Path, reason: str = "") -> bool:
    """Is ``path``'s file system mounted read-only, or did SQLite say the file is?"""
    if "readonly" in reason or "read-only" in reason:
        return True
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def state(db: Path, used: bool) -> str:
    """``kept``, ``released`` (given up to open) or ``none`` (never had the room)."""
    return "kept" if path_of(db).exists() else "released" if used else "none"


def release(db: Path) -> bool:
    """Delete the reserve; True if there was one."""
    try:
        path_of(db).unlink()
    except FileNotFoundError:
        return False
    except OSError as e:
        log.error("event store: cannot delete the disk space reserve %s: %s", path_of(db), e)
        return False
    return True


def open_anyway(open_: Callable[[bool], T], db: Path) -> tuple[T, str]:
    """``open_(False)``; if it fails on a full disk, give up the reserve and try once more;
    with no reserve to give (a disk that never had ``MIN_FREE`` free, a reserve deleted by
    hand) or still no room, ``open_(True)``: the store opened with its wal-index in memory
    (SQLite's ``unix-excl`` VFS: no ``-shm`` file, and no other process can open the store
    until the broker restarts). Returns what it opened and how: ``""`` (as usual), or
    ``"reserve"`` (the reserve was given up) and/or ``"shm-in-memory"``, space-separated.
    A damaged file is never retried, and neither is a failure with room on the disk."""
    try:
        return open_(False), ""
    except StoreError as e:
        first = _full(e, db)
    released = release(db)
    if released:
        log.error("event store %s: the disk is full (%s); released the %d KiB disk space "
                  "reserve %s to start", db, first, RESERVE_BYTES // 1024, path_of(db))
        try:
            return open_(False), "reserve"
        except StoreError as e:
            first = _full(e, db)
    log.error("event store %s: the disk is full (%s) and no space reserve is left; opened "
              "with its wal-index in memory (no -shm file): no other process can read the "
              "store until the broker restarts with room", db, first)
    return open_(True), ("reserve " if released else "") + SHM_IN_MEMORY


SHM_IN_MEMORY = "shm-in-memory"


def _full(e: StoreError, db: Path) -> StoreError:
    """``e``, when the disk is full (another way to open may work); else ``e`` raised."""
    if isinstance(e, StoreCorrupt) or free_bytes(db.parent) >= FULL_BELOW:
        raise e
    return e


def uri(db: Path, shm_in_memory: bool) -> str:
    """What SQLite is given to open ``db`` (``sqlite3.connect(..., uri=True)``)."""
    if not shm_in_memory:
        return str(db)
    return f"file:{quote(str(db))}?vfs=unix-excl"
