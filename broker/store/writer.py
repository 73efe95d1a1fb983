"""The store's writer thread: one transaction per batch, retry with back-off on failure.

Queue items are ``(event, row)`` tuples, ``("state", key, blob)``, ``("call", fn, done)``
(maintenance run on this thread after the batch commits) and ``STOP``. A batch also
carries the metric rollup buckets that have closed. When a commit fails the transaction is
rolled back, the batch stays in memory (the queue keeps filling until it is full, then
``put`` blocks), ``on_error`` is told (at once for a new outage, repeats at most every
30 s), and the same batch is retried. On a nearly full disk the WAL is checkpointed after
each commit, so space freed after an outage is not eaten by the WAL (``spare_space``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from broker.events import Event
from broker.store import reserve as store_reserve
from broker.store.episodes import OpenEpisodes
from broker.store.queue import BatchQueue
from broker.store.rollups import Rollups
from broker.store.schema import insert_rows
from core.backoff import Backoff
from core.clock import Clock

log = logging.getLogger(__name__)
STOP = object()
_INSERT = "INSERT INTO events(id, ts, kind, host, severity, rule, alert_id, message, data)"
_FTS = ("INSERT INTO events_fts(rowid, message, host, kind, rule, alert_id) "
        "SELECT seq, message, host, kind, rule, alert_id FROM events WHERE seq > ?")
_STATE = "INSERT OR REPLACE INTO state(key, value, updated) VALUES (?,?,?)"
# Low on space: less free than this many WAL auto-checkpoint spans (1,000 pages each, 16 MiB
# with 16 KiB pages) on the file system. The WAL is then checkpointed after every commit.
LOW_SPACE_SPANS = 4


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Copy the WAL into the database file and truncate it; False if a reader held it back
    or it failed (disk full: the WAL stays valid, a later call finishes the job)."""
    try:
        conn.execute("PRAGMA busy_timeout = 250")  # a long read must not stall the writer
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        return not busy
    except sqlite3.Error as e:
        log.info("event store: WAL checkpoint failed: %s", e)
        return False
    finally:
        conn.execute("PRAGMA busy_timeout = 5000")


class Writer:
    def __init__(self, conn: sqlite3.Connection, q: BatchQueue, rollups: Rollups, clock: Clock,
                 *, batch_interval: float, max_batch: int,
                 states: tuple[dict[str, bytes], threading.Lock],
                 retention: Callable[[], Any], retention_interval: float,
                 on_error: Callable[[str], None] | None,
                 on_recover: Callable[[str], None] | None,
                 on_commit: Callable[[list[Event]], None] | None) -> None:
        self.conn, self.q, self.rollups, self.clock = conn, q, rollups, clock
        self.batch_interval, self.max_batch = batch_interval, max_batch
        self.states, self.states_lock = states
        self.retention, self.retention_interval = retention, retention_interval
        self.on_error, self.on_recover, self.on_commit = on_error, on_recover, on_commit
        self.pending: list[Any] = []
        self.episodes = OpenEpisodes()
        self.episodes.load(conn)
        self.done_count = 0
        self.done = threading.Condition()
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.failing = ""
        self.rows_added = 0
        self.counters = {"write_errors": 0, "committed": 0, "batches": 0,
                         "last_batch_ms": 0.0, "lost_on_stop": 0, "checkpoints": 0}
        self._last_report = self._last_commit = 0.0
        self.path = next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"),
                         "")
        self.low_space = LOW_SPACE_SPANS * (conn.execute("PRAGMA page_size").fetchone()[0]
                                            * conn.execute("PRAGMA wal_autocheckpoint"
                                                           ).fetchone()[0])
        # The first run comes 5 s after start (a broker back from a long stop trims at once).
        self._last_retention = time.monotonic() - max(0.0, retention_interval - 5.0)

    def run(self) -> None:
        backoff = Backoff(0.05, 2.0)
        while True:
            if not self.pending:
                first = self.q.take(1, timeout=0.25)
                if not first:
                    self.idle()
                    continue
                # Commits at most batch_interval apart: wait out the rest of the interval
                # since the last commit; when behind (a backlog) write at once.
                wait = self.batch_interval - (time.monotonic() - self._last_commit)
                if wait > 0 and first[0] is not STOP and self.q.qsize() < self.max_batch:
                    self.wake.wait(wait)
                self.wake.clear()
                self.pending = first + self.q.take(self.max_batch - 1)
            if self.write_pending():
                backoff.reset()
                if self.pending and self.pending[0] is STOP:
                    return
                self.maybe_retention()  # also under a load that never lets the writer idle
                continue
            if self.stopping.is_set():
                self.lost()
                return
            self.stopping.wait(backoff.next())

    def drain_inline(self, final: bool = False) -> None:
        """The work of ``run`` on the caller's thread (store not started, or stopping)."""
        while True:
            self.pending += self.q.take(10**9)
            ok = self.write_pending(final=final)
            if not ok:
                if final:
                    self.lost()
                return
            if not self.q.qsize():
                return

    def idle(self) -> None:
        if self.rollups.has_closed(self.clock.time()):
            self.write_pending()
        self.maybe_retention()

    def maybe_retention(self) -> None:
        if time.monotonic() - self._last_retention >= self.retention_interval:
            self._last_retention = time.monotonic()
            try:
                self.retention()
            except sqlite3.Error as e:
                self.report(f"event store retention failed: {e}")
            if self.path and not self.failing:
                store_reserve.keep(Path(self.path))  # given up at a start, made again

    def lost(self) -> None:
        n = sum(1 for it in self.pending if it is not STOP and len(it) == 2) + self.q.qsize()
        self.counters["lost_on_stop"] += n
        self.report(f"event store stopped with {n} events not written: {self.failing}",
                    force=True)

    def write_pending(self, final: bool = False) -> bool:
        """Commit the pending items in one transaction. True on success."""
        events, rows, state_items, calls = [], [], [], []
        stop = final
        for it in self.pending:
            if it is STOP:
                stop = True
            elif len(it) == 2:
                events.append(it[0])
                rows.append(it[1])
            elif it[0] == "state":
                state_items.append(it)
            else:
                calls.append(it)
        closed = self.rollups.take_closed_buckets(self.clock.time(), everything=stop)
        now = self.clock.time()
        t0 = time.perf_counter()
        w = self.conn
        try:
            w.execute("BEGIN IMMEDIATE")
            if rows:
                first = w.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
                insert_rows(w, _INSERT, rows, 9)
                w.execute(_FTS, (first,))
                self.episodes.apply(w, events)
            Rollups.persist(w, closed.rows())
            w.executemany(_STATE, [(it[1], it[2], now) for it in state_items])
            w.execute("COMMIT")
        except Exception as e:  # sqlite3.Error (disk full, I/O) or a bug: keep the batch
            if w.in_transaction:
                w.execute("ROLLBACK")
            self._reload_episodes()
            self.rollups.put_back(closed.rows())
            self.counters["write_errors"] += 1
            new = not self.failing  # a new outage is reported at once, repeats throttled
            self.failing = str(e) if isinstance(e, sqlite3.Error) else repr(e)
            if not isinstance(e, sqlite3.Error):
                log.exception("event store writer: unexpected error (batch kept, retrying)")
            self.report(f"event store write failed ({e}); {len(rows)} events held in "
                        f"memory, {self.q.qsize()} queued; retrying", force=new)
            self.spare_space()  # a WAL full of old pages may be what holds the space
            return False
        self._last_commit = time.monotonic()
        self.counters["batches"] += 1
        self.counters["committed"] += len(rows)
        self.counters["last_batch_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        self.rows_added += len(rows)
        with self.states_lock:
            for it in state_items:
                if self.states.get(it[1]) is it[2]:
                    del self.states[it[1]]
        if self.failing:
            msg = f"event store writes resumed after: {self.failing}"
            self.failing = ""
            log.warning(msg)
            if self.path:
                store_reserve.keep(Path(self.path))  # room again: the start reserve back
            if self.on_recover:
                self.on_recover(msg)
        self.pending = [STOP] if stop and not final else []
        for _, fn, done in calls:
            try:
                fn()
            except sqlite3.Error as e:
                self.report(f"event store maintenance failed: {e}", force=True)
            done.set()
        with self.done:
            self.done_count += len(rows) + len(state_items) + len(calls)
            self.done.notify_all()
        if self.on_commit and events:
            self.on_commit(events)
        self.spare_space()  # after on_commit: never delays what the notifier hears
        return True

    def spare_space(self, always: bool = False) -> None:
        """On a nearly full disk (``always``: at open), checkpoint the WAL. Otherwise every
        commit appends its pages (16 KiB each) to the WAL until the auto-checkpoint at
        1,000 pages: after a disk-full outage the space freed went to the WAL within a few
        commits and the store failed again. Only when the free space holds what the
        checkpoint adds to the database file (pages the WAL holds beyond its end), so a
        checkpoint that cannot finish never takes the free pages a commit needs."""
        if not self.path:
            return
        try:
            st = os.statvfs(self.path)
            free = st.f_bavail * st.f_frsize
            if not os.stat(self.path + "-wal").st_size or (free >= self.low_space
                                                          and not always):
                return
            page = self.conn.execute("PRAGMA page_size").fetchone()[0]
            grow = (self.conn.execute("PRAGMA page_count").fetchone()[0] * page
                    - os.stat(self.path).st_size)
        except (OSError, sqlite3.Error):
            return
        if free >= grow + page and checkpoint(self.conn):
            self.counters["checkpoints"] += 1

    def _reload_episodes(self) -> None:
        try:
            self.episodes.load(self.conn)
        except sqlite3.Error as e:  # keep the cache; the next failure retries the load
            log.error("event store: reloading open episodes failed: %s", e)

    def report(self, message: str, force: bool = False) -> None:
        """Log and call on_error; repeats of a failing write at most every 30 s."""
        now = time.monotonic()
        if not force and now - self._last_report < 30.0 and self.counters["write_errors"] > 1:
            return
        self._last_report = now
        log.error(message)
        if self.on_error:
            self.on_error(message)
