"""The event store's schema: versioned migrations and the check run at open.

``PRAGMA user_version`` holds the schema version and ``PRAGMA application_id`` marks the
file as ours. Each migration runs in one transaction; a file from a newer version, a file
that is not SQLite, or one that fails ``PRAGMA quick_check`` raises :class:`StoreCorrupt`
so the broker refuses to start rather than serve half a history.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

APPLICATION_ID = 0x4D4F4E31  # "MON1"


class StoreError(RuntimeError):
    """The store cannot do what was asked (not open, stopped, timed out)."""


class StoreCorrupt(StoreError):
    """The file is not a valid event store; the broker must not start on it."""


_V1 = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL DEFAULT 'info',
    rule TEXT NOT NULL DEFAULT '',
    alert_id TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_host ON events(host);
CREATE INDEX events_kind ON events(kind);
CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL, updated REAL NOT NULL);
"""

_V2 = """
CREATE INDEX events_severity ON events(severity) WHERE severity != 'info';
CREATE INDEX events_rule ON events(rule) WHERE rule != '';
CREATE INDEX events_alert ON events(alert_id) WHERE alert_id != '';
CREATE VIRTUAL TABLE events_fts USING fts5(
    message, host, kind, rule, alert_id,
    content='events', content_rowid='seq', tokenize='unicode61', columnsize=0);
INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 8);
INSERT INTO events_fts(events_fts) VALUES ('rebuild');
CREATE TABLE rollups (
    step INTEGER NOT NULL, host TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (step, host, metric, ts)
) WITHOUT ROWID;
CREATE INDEX rollups_age ON rollups(step, ts);
CREATE TABLE episodes (
    id INTEGER PRIMARY KEY,
    alert_id TEXT NOT NULL, rule TEXT NOT NULL, host TEXT NOT NULL,
    severity TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL,
    peak REAL, last_value REAL, acks TEXT NOT NULL DEFAULT '[]',
    simulated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX episodes_alert ON episodes(alert_id, ended_at);
CREATE INDEX episodes_started ON episodes(started_at);
"""

# Rewind (control ``fleet_at``, broker/store/rewind.py): every series' bucket at a moment
# read from the index alone: rollups_at holds what the moment needs (4x faster than
# rollups_age and a row lookup per series); it serves retention's pruning as rollups_age did,
# so that one goes. The alert events of a time window (partial: most events have no alert);
# the episodes that ended after a moment, or never.
_V3 = """
CREATE INDEX rollups_at ON rollups(step, ts, host, metric, sum, count);
DROP INDEX rollups_age;
CREATE INDEX events_alert_ts ON events(ts, alert_id) WHERE alert_id != '';
CREATE INDEX episodes_ended ON episodes(ended_at);
"""

# Partial indexes: most events are info and have no rule or alert; not indexing those rows
# took inserts from 90k to 132k rows/s (bench, 300k rows). search.py adds the matching
# literal terms (e.g. ``severity != 'info'``) so the planner can use them.
# (version, script). Append only: a shipped migration is never edited.
MIGRATIONS: list[tuple[int, str]] = [(1, _V1), (2, _V2), (3, _V3)]
LATEST = MIGRATIONS[-1][0]
# From this version on a migration only adds indexes: the code reads and writes a file
# without it (more slowly). One that cannot run (disk full, I/O error) is rolled back and
# put off to the next open, and the broker serves and pages on the older schema.
DEFERRABLE_FROM = 3

EXPECTED: dict[str, set[str]] = {
    "events": {"seq", "id", "ts", "kind", "host", "severity", "rule", "alert_id", "message",
               "data"},
    "state": {"key", "value", "updated"},
    "rollups": {"step", "host", "metric", "ts", "min", "max", "sum", "count"},
    "episodes": {"id", "alert_id", "rule", "host", "severity", "started_at", "ended_at",
                 "peak", "last_value", "acks", "simulated"},
    "events_fts": {"message", "host", "kind", "rule", "alert_id"},
}


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def preflight(path: Path) -> None:
    """Refuse, naming the file, what SQLite would report badly or start silently empty:
    a directory in the file's place, a read-only data dir, a 0-byte file."""
    if path.is_dir():
        raise StoreError(f"event store {path} is a directory, not a file; move it aside")
    d = path.parent
    try:
        ro = bool(os.statvfs(d).f_flag & os.ST_RDONLY) or not os.access(d, os.W_OK)
    except OSError as e:
        raise StoreError(f"event store {path}: cannot reach its data dir: {e}") from e
    if ro:
        raise StoreError(f"event store {path}: data dir {d} is read-only (not corrupt); "
                         "the store needs to write there: remount it read-write or choose "
                         "another --data-dir")
    wal = path.with_name(path.name + "-wal")
    if path.is_file() and path.stat().st_size == 0 and not (wal.exists()
                                                             and wal.stat().st_size):
        raise StoreError(f"event store {path} is 0 bytes: its history is gone (truncated "
                         "or never written); refusing to start silently empty: delete "
                         "the file to start a new log, or restore a backup")


def check_file(conn: sqlite3.Connection, path: str, full: bool = True) -> None:
    """Raise StoreCorrupt unless the file is SQLite, intact and ours (or empty). Without
    ``full`` the page-by-page ``quick_check`` is left to broker/store/integrity.py (a big
    file, checked while the broker runs); the header and the schema are read here."""
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        rows = (conn.execute("PRAGMA quick_check").fetchall() if full
                else conn.execute("SELECT 'ok' FROM sqlite_master LIMIT 1").fetchall())
    except sqlite3.OperationalError as e:  # disk full or failing, locked: not damage
        raise StoreError(f"event store {path} cannot be read ({e}): the file system is "
                         "full or failing, or the file is locked; the file is not known to be "
                         "damaged: free space (SQLite needs room for its -shm and -wal "
                         "files) and start again") from e
    except sqlite3.DatabaseError as e:
        raise StoreCorrupt(f"event store {path} is not a valid SQLite database ({e}); "
                           "move it aside to start with an empty log") from e
    problems = [r[0] for r in rows if r[0] != "ok"]
    if problems:
        raise StoreCorrupt(f"event store {path} is corrupt (quick_check: "
                           f"{'; '.join(problems[:3])}); move it aside or restore a backup")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
        raise StoreCorrupt(f"{path} is a SQLite file but not a monitor event store "
                           f"(application_id {app_id:#x}, tables {sorted(tables)[:5]})")
    version = _version(conn)
    if version > LATEST:
        raise StoreCorrupt(f"event store {path} has schema version {version}, newer than "
                           f"this broker understands ({LATEST}); upgrade the broker")


def migrate(conn: sqlite3.Connection, deferred: list[str] | None = None,
            put_off: Callable[[sqlite3.Connection, int, int], str | None] | None = None
            ) -> list[int]:
    """Apply every migration above the file's version; return the versions applied. With
    ``deferred``, one from DEFERRABLE_FROM on that fails with an OperationalError (disk
    full, I/O) is rolled back and said there, and the file stays at the version before;
    so is one for which ``put_off(conn, version, current)`` gives a reason (too long to
    build at start-up: broker/store/upgrade.py)."""
    applied = []
    start = _version(conn)  # 0: a new file, nothing to index, never put off
    for version, script in MIGRATIONS:
        current = _version(conn)
        if version <= current:
            continue
        why = None
        if start and put_off is not None and deferred is not None:
            why = put_off(conn, version, current)
        if why and version >= DEFERRABLE_FROM:
            assert deferred is not None
            deferred.append(why)
            break
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _statements(script):
                conn.execute(stmt)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except sqlite3.OperationalError as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if deferred is None or version < DEFERRABLE_FROM:
                raise
            deferred.append(f"schema v{version} not applied ({e}): the store runs on "
                            f"v{_version(conn)}; rewind reads more slowly; retried at the "
                            "next start")
            break
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


def check_schema(conn: sqlite3.Connection, path: str) -> None:
    """After migrating, every table must have the columns this code reads and writes."""
    for table, cols in EXPECTED.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if not cols <= have:
            raise StoreCorrupt(f"event store {path}: table {table!r} lacks columns "
                               f"{sorted(cols - have)}; the file was altered by hand")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class transaction:  # noqa: N801 - used as a context manager, reads like `with transaction(c)`
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection; ROLLBACK on any error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


# Row counts of the multi-row statements ``insert_rows`` uses. A fixed few keep every
# statement in the connection's statement cache (preparing one costs as much as running it).
_CHUNKS = (2000, 500, 100, 20, 5, 1)


@functools.lru_cache(maxsize=64)
def _multi_sql(head: str, width: int, rows: int, tail: str) -> str:
    one = "(" + ",".join("?" * width) + ")"
    return f"{head} VALUES {','.join([one] * rows)} {tail}"


def insert_rows(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]],
                width: int, tail: str = "") -> None:
    """``head VALUES (...), (...) tail`` for every row, in order, up to 2,000 rows per
    statement. Unlike ``executemany``, which releases and retakes the GIL around every
    row's step (and, with another thread running Python, waits up to the switch interval
    to get it back: a convoy that halved the store's insert rate), this takes the GIL
    back once per statement."""
    most = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
    i, n = 0, len(rows)
    for size in _CHUNKS:
        if size > most:
            continue
        sql = _multi_sql(head, width, size, tail)
        while n - i >= size:
            conn.execute(sql, list(chain.from_iterable(rows[i:i + size])))
            i += size
