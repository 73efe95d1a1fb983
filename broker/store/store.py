"""The event store: SQLite (WAL) + FTS5, written by one thread in batched transactions.

``put`` is thread-safe and applies back-pressure: the queue is bounded (large) and a full
queue blocks the caller, it never drops. The writer takes what is queued, at most
``batch_interval`` after the first item arrived, and commits it in one transaction together
with closed metric rollups, alert episodes and saved state. When a write fails (disk full,
read-only file system) it reports through ``on_error``, keeps the batch and the queue, and
retries with back-off until space returns. See docs/events.md for schema and durability.
"""

from __future__ import annotations

import collections
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import msgpack

from broker.events import Event
from broker.store import episodes as store_episodes
from broker.store import export as _export
from broker.store import integrity as store_integrity
from broker.store import reserve as store_reserve
from broker.store import retention as store_retention
from broker.store import rewind as store_rewind
from broker.store import search_plan as _search
from broker.store import upgrade as store_upgrade
from broker.store.queue import BatchQueue
from broker.store.rollups import Rollups
from broker.store.rows import event_row as _row
from broker.store.schema import (
    StoreCorrupt,
    StoreError,
    check_file,
    check_schema,
    migrate,
    preflight,
)
from broker.store.search import QueryError
from broker.store.writer import STOP, Writer
from core.clock import SYSTEM, Clock

__all__ = ["QueryError", "Store", "StoreCorrupt", "StoreError"]
log = logging.getLogger(__name__)


# SQLite page caches. The writer's speeds up only writes whose pages are still cached: a
# closing minute at 10,000 hosts is written as fast with 8 MiB as with 16 or 64, and so are
# events (docs/internals.md, "Memory"). The reader's serves searches over a 1M-event store
# (docs/benchmarks.md) and fills only as they run.
WRITER_CACHE_KIB = 8_192
READER_CACHE_KIB = 65_536


class Store:
    def __init__(self, path: Path, clock: Clock = SYSTEM, batch_interval: float = 0.1,
                 retention_s: float = 30 * 86400, max_bytes: int = 2 * 2**30, *,
                 on_error: Callable[[str], None] | None = None,
                 on_recover: Callable[[str], None] | None = None,
                 on_commit: Callable[[list[Event]], None] | None = None,
                 max_pending: int = 200_000, max_batch: int = 20_000,
                 synchronous: str = "FULL", rollup_1m_retention_s: float = 2 * 86400,
                 retention_interval: float = 60.0, recent_size: int = 1000,
                 connect: Callable[[str], sqlite3.Connection] | None = None,
                 migrate_max_s: float | None = None,
                 inline_check_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.clock = clock
        self.migrate_max_s = store_upgrade.start_limit(migrate_max_s)  # longer: put off
        self.batch_interval = batch_interval
        self.retention_s = retention_s
        self.max_bytes = max_bytes
        self.rollup_1m_retention_s = rollup_1m_retention_s
        self.retention_interval = retention_interval
        self.on_error, self.on_recover, self.on_commit = on_error, on_recover, on_commit
        self.max_batch = max_batch
        self.synchronous = synchronous.upper()
        if self.synchronous not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
        self._connect = connect or (lambda p: sqlite3.connect(
            p, check_same_thread=False, isolation_level=None, uri=True))
        self._q = BatchQueue(max_pending)
        self._w: sqlite3.Connection | None = None
        self._r: sqlite3.Connection | None = None
        self._writer: Writer | None = None
        self._rlock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._recent: collections.deque[Event] = collections.deque(maxlen=recent_size)
        self._states: dict[str, bytes] = {}  # saved, not yet committed (load_state sees them)
        self._states_lock = threading.Lock()
        self.rollups = Rollups()
        self._rows = 0
        self._retention_deleted = 0
        self.last_cursor: int | None = None  # where the last export page stopped
        self.schema = 0  # the file's schema version once open
        self.deferred: list[str] = []
        self.inline_check_bytes = store_integrity.inline_limit(inline_check_bytes)  # bigger: beside
        self.check: store_integrity.Check | None = None
        self.opened = ""  # how a full disk was got past (reserve.open_anyway)
        self.uri = str(self.path)  # what SQLite opens (reserve.uri)

    # -- life cycle ---------------------------------------------------------------------
    def open(self) -> Store:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _, self.opened = store_reserve.open_anyway(self._open, self.path)
        store_reserve.keep(self.path)
        return self

    def _open(self, shm_in_memory: bool) -> None:
        preflight(self.path)
        self.uri = store_reserve.uri(self.path, shm_in_memory)
        w = self._connect(self.uri)
        try:
            full = store_integrity.file_bytes(self.path) <= self.inline_check_bytes
            check_file(w, str(self.path), full=full)
            if not full:
                self.check = store_integrity.Check(self.path, self._corrupt,
                                                   shared=shm_in_memory)
            if not w.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                w.execute("PRAGMA page_size=16384")  # new file: +25% inserts over 4 KiB pages
            w.execute("PRAGMA journal_mode=WAL")
            w.execute(f"PRAGMA synchronous={self.synchronous}")
            w.execute("PRAGMA secure_delete=OFF")
            w.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
            w.execute("PRAGMA journal_size_limit=67108864")
            self.deferred = []  # a migration put off (disk full, too long): said, not fatal
            long = store_upgrade.put_off_if_long(self.migrate_max_s, self.path.parent)
            migrate(w, self.deferred, put_off=long)
            check_schema(w, str(self.path))
            self.schema = int(w.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.OperationalError as e:  # permissions, locked, disk: not corruption
            w.close()
            raise StoreError(f"event store {self.path} cannot be opened: {e}") from e
        except sqlite3.DatabaseError as e:
            w.close()
            raise StoreCorrupt(f"event store {self.path} is damaged: {e}") from e
        except BaseException:
            w.close()
            raise
        self._w = w
        self._writer = Writer(w, self._q, self.rollups, self.clock,
                              batch_interval=self.batch_interval, max_batch=self.max_batch,
                              states=(self._states, self._states_lock),
                              retention=self._retention,
                              retention_interval=self.retention_interval,
                              on_error=self.on_error, on_recover=self.on_recover,
                              on_commit=self.on_commit)
        self._writer.spare_space(always=True)  # start with the WAL in the file, not on top
        for note in self.deferred:
            if " put off: " in note:  # planned (too long for a start-up): said once
                log.warning("event store %s: %s", self.path, note)
                continue
            log.error("event store %s: %s", self.path, note)
            if self.on_error:
                self.on_error(f"{self.path}: {note}")
        self._r = sqlite3.connect(self.uri, check_same_thread=False, isolation_level=None,
                                  uri=True)
        self._r.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        self._rows = w.execute("SELECT count(*) FROM events").fetchone()[0]
        try:
            self._recent.extend(reversed(self._read(lambda c: _search.search(
                c, "", now=0.0, limit=self._recent.maxlen or 1, loads=json.loads))))
        except (QueryError, sqlite3.DatabaseError) as e:  # damage in the newest rows
            self.stop()
            raise StoreCorrupt(f"event store {self.path} is damaged (its newest events "
                               f"cannot be read: {e}); move it aside or restore a backup") from e

    def start(self) -> None:
        if self._writer is None:
            raise StoreError("Store.start() before open()")
        self._thread = threading.Thread(target=self._writer.run, name="bus/store-writer",
                                        daemon=True)
        self._thread.start()
        if self.check is not None and self.check.state == "running":
            self.check.start()

    def _corrupt(self, message: str) -> None:
        """The integrity check's thread: damage found in a file opened unchecked."""
        log.error("%s", message)
        if self.on_error:
            self.on_error(message)

    def stop(self, timeout: float = 10.0) -> None:
        """Commit everything queued (giving up after ``timeout`` if writes fail), close."""
        wr = self._writer
        if wr is None:
            return
        if self.check is not None:
            self.check.stop()
        if self._thread is not None:
            wr.stopping.set()
            try:
                self._q.put(STOP, timeout=timeout)
            except TimeoutError:
                pass
            wr.wake.set()
            self._q.wake()
            self._thread.join(timeout)
            self._thread = None
        else:
            wr.drain_inline(final=True)
        for conn in (self._w, self._r):
            if conn is not None:
                conn.close()
        self._w = self._r = self._writer = None

    # -- writing ------------------------------------------------------------------------
    def put(self, event: Event) -> None:
        """Queue an event; blocks while the queue is full (never drops). Thread-safe."""
        item = (event, _row(event))
        self._enqueue(item)
        self._recent.append(event)

    def _enqueue(self, item: Any) -> int:
        if self._writer is None or self._writer.stopping.is_set():
            raise StoreError("the store is closed")
        return self._q.put(item)

    def record_metrics(self, host: str, metrics: dict[str, float], ts: float,
                       names: tuple[str, ...] | None = None) -> None:  # validated (MetricSink)
        self.rollups.add(host, metrics, ts, checked=True, names=names)  # 1 min/1 h, no I/O

    def save_state(self, key: str, obj: Any) -> None:
        """Queued with the events; ``load_state`` sees it at once, disk after flush()."""
        blob = msgpack.packb(obj, use_bin_type=True)
        with self._states_lock:
            self._states[key] = blob
        self._enqueue(("state", key, blob))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything put so far is committed; False on timeout."""
        wr = self._writer
        if wr is None:
            raise StoreError("the store is closed")
        target = self._q.put_count
        if self._thread is None:
            wr.drain_inline()
        wr.wake.set()
        deadline = time.monotonic() + timeout
        with wr.done:
            while wr.done_count < target:
                left = deadline - time.monotonic()
                if left <= 0 or not wr.done.wait(left):
                    return wr.done_count >= target
        return True

    def enforce_retention(self, timeout: float = 60.0) -> dict[str, int]:
        """Apply retention now (the writer also does it every ``retention_interval``)."""
        done = threading.Event()
        box: list[Any] = []
        self._enqueue(("call", lambda: box.append(self._retention()), done))
        if self._thread is None and self._writer is not None:
            self._writer.drain_inline()
        elif self._writer is not None:
            self._writer.wake.set()
        if not done.wait(timeout) or not box:
            raise StoreError("retention did not complete (see store errors)")
        return box[0]

    def _retention(self) -> dict[str, int]:
        assert self._w is not None
        res = store_retention.enforce(self._w, now=self.clock.time(),
                                      retention_s=self.retention_s, max_bytes=self.max_bytes,
                                      rollup_1m_s=self.rollup_1m_retention_s)
        self._retention_deleted += res["deleted_age"] + res["deleted_size"]
        return res

    # -- reading ------------------------------------------------------------------------
    def _read(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        if self._r is None:
            raise StoreError("the store is closed")
        with self._rlock:
            return fn(self._r)

    def search(self, query: str, limit: int = 50, before_ts: float | None = None,
               now: float | None = None, before_seq: int | None = None) -> list[Event]:
        now = self.clock.time() if now is None else now
        return self._read(lambda c: _search.search(c, query, now=now, limit=limit,
                                                   before_ts=before_ts, before_seq=before_seq,
                                                   loads=json.loads))

    def recent(self, limit: int = 100) -> list[Event]:
        """Newest first; served from memory (includes events not yet committed)."""
        items = list(self._recent)[-limit:] if limit > 0 else []
        return items[::-1]

    def series(self, since: float) -> list[tuple[str, str]]:
        """(host, metric) of every series with an hourly rollup since ``since``."""
        return [(h, m) for h, m in self._read(lambda c: c.execute(
            "SELECT DISTINCT host, metric FROM rollups WHERE step = 3600 AND ts >= ?",
            (int(since),)).fetchall())]

    def history(self, host: str, metric: str, since: float, until: float,
                step: str = "1m") -> list[dict[str, float]]:
        return self._read(lambda c: self.rollups.history(c, host, metric, since, until, step))

    def export(self, since: float | None, until: float | None, fmt: str = "jsonl",
               out: TextIO | None = None, query: str = "", *, after: int = 0,
               limit: int | None = None, header: bool = True) -> int:
        """Streams from its own connection: a long export does not hold up searches.
        With ``limit``: one page from the cursor ``after``; ``last_cursor`` says where the
        next starts (None at the end)."""
        if out is None:
            raise ValueError("export needs an output stream")
        if self._r is None:
            raise StoreError("the store is closed")
        conn = sqlite3.connect(self.uri, isolation_level=None, uri=True)
        try:
            n, self.last_cursor = _export.export_page(
                conn, out, since=since, until=until, fmt=fmt, query=query,
                now=self.clock.time(), loads=json.loads, after=after, limit=limit,
                header=header)
            return n
        finally:
            conn.close()

    def oldest_rollup(self, step: int) -> int | None:
        """The start of the oldest bucket of ``step`` seconds held (disk or memory)."""
        return self._read(lambda c: store_rewind.oldest(c, self.rollups, step))

    def fleet_at(self, t: float, step: int, expected: set[str], detail: set[str] | None,
                 spark: Callable[[str], bool],
                 pending_s: float = store_rewind.LOOKBACK_S) -> dict[str, Any]:
        """The fleet at ``t`` (broker/store/rewind.py): ``hosts`` {host: (bucket, metrics)}
        (``expected``: hosts looked for further back), ``history`` of the ``detail`` hosts
        (None: every host; else only they have every metric) for the metrics ``spark``
        accepts, and the ``alerts`` then (pending ones from the ``pending_s`` before)."""
        def run(c: sqlite3.Connection) -> dict[str, Any]:
            hosts = store_rewind.metrics_at(c, self.rollups, t, step, expected, detail,
                                            covering=self.schema >= 3)
            names = hosts.keys() if detail is None else detail & hosts.keys()
            history = {h: store_rewind.history_at(c, self.rollups, h, sorted(
                m for m in hosts[h][1] if spark(m)), t, step) for h in names}
            return {"hosts": hosts, "history": history,
                    "alerts": store_rewind.alerts_at(c, t, pending_s)}
        return self._read(run)

    def episodes(self, **filters: Any) -> list[dict[str, Any]]:
        return self._read(lambda c: store_episodes.query(c, **filters))

    def load_state(self, key: str, default: Any = None) -> Any:
        blob = self._states.get(key)
        if blob is None:
            row = self._read(lambda c: c.execute("SELECT value FROM state WHERE key = ?",
                                                 (key,)).fetchone())
            if row is None:
                return default
            blob = row[0]
        return msgpack.unpackb(blob, raw=False, strict_map_key=False)

    def failing(self) -> bool:
        """True while the last write failed (any thread; no I/O)."""
        wr = self._writer
        return wr is None or bool(wr.failing)

    def health(self) -> tuple[str, str]:
        """(state, reason): ``ok``, ``failing`` (writes fail: disk full, I/O error) or
        ``read-only`` (the data dir's file system or the file refuses writes) or
        ``corrupt`` (the integrity check run beside the broker found damage). Cheap: reads
        what the writer last saw, no I/O but one statvfs when failing."""
        wr = self._writer
        if wr is None:
            return "failing", "the store is closed"
        if self.check is not None and self.check.state == "corrupt":
            return "corrupt", self.check.problem
        reason = wr.failing
        if not reason:
            return "ok", ""
        if store_reserve.read_only(self.path, reason):
            return "read-only", f"{self.path.parent} is read-only: {reason}"
        return "failing", f"{self.path}: {reason}"

    def stats(self) -> dict[str, Any]:
        used = self._read(store_retention.used_bytes)
        wal = self.path.with_name(self.path.name + "-wal")
        wr = self._writer
        assert wr is not None
        return {"rows": self._rows + wr.rows_added - self._retention_deleted, "bytes": used,
                "file_bytes": self.path.stat().st_size + (wal.stat().st_size
                                                          if wal.exists() else 0),
                "pending": self._q.qsize() + len(wr.pending),
                "rollup_buckets": self.rollups.pending(), "failing": wr.failing,
                "retention_deleted": self._retention_deleted, "schema": self.schema,
                **({"schema_deferred": self.deferred[0]} if self.deferred else {}),
                **(self.check.status() if self.check is not None else {}),
                "reserve": store_reserve.state(self.path, "reserve" in self.opened),
                **({"shm": "memory"} if store_reserve.SHM_IN_MEMORY in self.opened else {}),
                **wr.counters}
