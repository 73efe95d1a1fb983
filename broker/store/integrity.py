"""The event store's full integrity check, run beside the broker instead of before it.

``PRAGMA quick_check`` reads every page of the file: about 3 s a GiB with the pages cached
and more from a cold disk, so 6-16 s at the 2 GiB default. Run at open, it held every
start-up (and every supervised restart) that long, with no frame ingested. A file up to
``INLINE_MAX_BYTES`` is still checked at open (under a second); a bigger one is opened after
the cheap checks (header, application id, schema, ``broker/store/schema.check_file``) and
``Check`` reads it on a connection and thread of its own while the broker runs. SQLite lets
go of the GIL while it reads, so ingest goes on. Damage found is said through ``on_corrupt``,
and the store's health turns ``corrupt``: the ``store_failing`` alert pages with the
reason, and ``status`` shows it. The store goes on writing, so nothing accepted is dropped:
the file needs moving aside or restoring from a backup, which is the operator's call.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from broker.store.schema import StoreError

INLINE_MAX_BYTES = 256 * 2**20
ENV_INLINE_MB = "MONITOR_STORE_CHECK_INLINE_MB"


def inline_limit(given: int | None = None) -> int:
    """Bytes up to which the check runs at open: ``given``, else $ENV_INLINE_MB, else 256 MiB."""
    if given is not None:
        return given
    raw = os.environ.get(ENV_INLINE_MB, "")
    try:
        return int(float(raw) * 2**20) if raw else INLINE_MAX_BYTES
    except ValueError:
        raise StoreError(f"${ENV_INLINE_MB}={raw!r}: expected megabytes, e.g. 256") from None


def file_bytes(path: Path) -> int:
    """The database file and its WAL, in bytes (0 for files not there)."""
    total = 0
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            total += p.stat().st_size
        except OSError:
            pass
    return total


class Check:
    """One ``quick_check`` of ``path`` on a daemon thread; ``state`` is ``running``, ``ok``,
    ``corrupt`` or ``unreadable`` (the check itself failed: I/O, locked; not damage)."""

    def __init__(self, path: Path, on_corrupt: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, shared: bool = False) -> None:
        self.path = path
        # ``shared``: the store was opened with its wal-index in memory (reserve.open_anyway),
        # which only connections through the same VFS see
        self.vfs = "&vfs=unix-excl" if shared else ""
        self.on_corrupt = on_corrupt
        self.clock = clock
        self.state = "running"
        self.problem = ""
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="bus/store-check", daemon=True)
        self._stop = threading.Event()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def start(self) -> Check:
        self._thread.start()
        return self

    def stop(self, timeout: float = 0.5) -> None:
        """Interrupt a check still running. A stop of the broker does not wait for it past
        ``timeout``: SQLite may finish the pass first, on a read-only connection and a
        daemon thread, so nothing is left to hold."""
        self._stop.set()
        with self._lock:
            if self._conn is not None:
                self._conn.interrupt()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def status(self) -> dict[str, object]:
        out: dict[str, object] = {"check": self.state, "check_s": round(self.seconds, 1)}
        if self.problem:
            out["check_problem"] = self.problem
        return out

    def _run(self) -> None:
        t0 = self.clock()
        try:
            with self._lock:
                if self._stop.is_set():
                    return
                self._conn = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro{self.vfs}",
                                             uri=True, check_same_thread=False)
            rows = self._conn.execute("PRAGMA quick_check").fetchall()
            problems = [str(r[0]) for r in rows if r[0] != "ok"]
            self.seconds = self.clock() - t0
            if self._stop.is_set():  # the store stopped meanwhile: nobody to tell
                self.state = "stopped"
                return
            if problems:
                self.problem = (f"event store {self.path} is corrupt (quick_check: "
                                f"{'; '.join(problems[:3])}); move it aside or restore a backup")
                self.state = "corrupt"
                if self.on_corrupt is not None:
                    self.on_corrupt(self.problem)
            else:
                self.state = "ok"
        except sqlite3.DatabaseError as e:
            self.seconds = self.clock() - t0
            if self._stop.is_set():
                self.state = "stopped"
                return
            if isinstance(e, sqlite3.OperationalError):  # I/O, locked: not known damage
                self.state, self.problem = "unreadable", f"the integrity check failed: {e}"
                return
            self.problem = (f"event store {self.path} is damaged ({e}); move it aside or "
                            "restore a backup")
            self.state = "corrupt"
            if self.on_corrupt is not None:
                self.on_corrupt(self.problem)
        finally:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
