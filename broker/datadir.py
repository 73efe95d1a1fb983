"""One broker per data directory: an exclusive lock on ``DIR/broker.lock``.

Two brokers writing one event store would interleave their writes and their engine state.
The lock is an ``flock`` (released by the kernel when the process dies, even by SIGKILL),
and the file holds the holder's pid so the refusal can name it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; the store's own locking remains
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "broker.lock"
T = TypeVar("T")


class DataDirBusy(OSError):
    """Another live process holds the data directory."""


class DataDirLock:
    def __init__(self, data_dir: Path | None) -> None:
        self.path = Path(data_dir) / LOCK_NAME if data_dir else None
        self._file: IO[str] | None = None

    def holding(self, start: Callable[[], T]) -> T:
        """Take the lock, then run ``start``; a start that fails lets the lock go again."""
        self.acquire()
        try:
            return start()
        except BaseException:
            self.release()
            raise

    def acquire(self) -> DataDirLock:
        """Create the data dir if need be and lock it; DataDirBusy names the holder."""
        if self.path is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            return self
        try:
            f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                return self  # nobody writes here: the store says why, naming its file
            raise
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise DataDirBusy(f"data dir {self.path.parent} is in use by another broker "
                              f"(pid {holder}); stop it or use another --data-dir") from None
        os.ftruncate(f.fileno(), 0)  # unbuffered: a full disk fails this write, not a flush
        try:
            os.write(f.fileno(), f"{os.getpid()}\n".encode())  # O_APPEND: at 0
        except OSError:  # a full disk: the flock holds without the pid (said as "unknown")
            pass
        self._file = f
        return self

    def release(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                f.seek(0)
                f.truncate()
            finally:
                f.close()  # closing drops the flock
