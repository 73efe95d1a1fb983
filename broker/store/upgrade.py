"""A long schema migration kept out of start-up, and the offline command that applies it.

Schema v3 only adds indexes (``DEFERRABLE_FROM``), but building them reads the whole file:
on 60M minute rollups (1,000 hosts, 2 days) that held the broker's start-up for minutes,
and a broker that is starting pages nothing. So at open the cost is estimated cheaply (the
file's used pages, no scan) and a build longer than ``max_s`` is put off: the store runs on
the older schema (rewind reads more slowly) until the operator runs, with the broker stopped,
``monitor-broker --data-dir DIR --migrate-store`` (:func:`migrate_offline`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from broker.store.schema import (
    DEFERRABLE_FROM,
    StoreError,
    check_file,
    check_schema,
    migrate,
    preflight,
)

# Building v3's indexes, measured on this project's 2-core machine (load 13): 365k rollup
# rows/s, 18 MB of used file per second (49 B a row). Counting the whole file at that rate
# over-estimates a file that is mostly events (scanned faster than sorted): safe side.
BUILD_BYTES_PER_S = 18e6
MAX_START_S = 5.0  # longer than this at start-up: put off to --migrate-store
ENV_MAX_S = "MONITOR_STORE_MIGRATE_MAX_S"


def start_limit(given: float | None = None) -> float:
    """Seconds of index building allowed at start-up: ``given``, else $ENV_MAX_S, else 5."""
    if given is not None:
        return given
    raw = os.environ.get(ENV_MAX_S, "")
    try:
        return float(raw) if raw else MAX_START_S
    except ValueError:
        raise StoreError(f"${ENV_MAX_S}={raw!r}: expected seconds, e.g. 5") from None


def estimate_s(conn: sqlite3.Connection) -> tuple[float, int]:
    """(seconds, bytes): what building the indexes over this file's used pages takes."""
    size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    used = (int(conn.execute("PRAGMA page_count").fetchone()[0])
            - int(conn.execute("PRAGMA freelist_count").fetchone()[0])) * size
    return used / BUILD_BYTES_PER_S, used


def command(data_dir: Path) -> str:
    return f"monitor-broker --data-dir {data_dir} --migrate-store"


def put_off_if_long(max_s: float, data_dir: Path
                    ) -> Callable[[sqlite3.Connection, int, int], str | None]:
    """The ``put_off`` hook of :func:`schema.migrate` for a start-up: a reason to put a
    deferrable migration off when its estimated build is longer than ``max_s``."""
    def put_off(conn: sqlite3.Connection, version: int, current: int) -> str | None:
        if version < DEFERRABLE_FROM:
            return None
        secs, used = estimate_s(conn)
        if secs <= max_s:
            return None
        return (f"schema v{version} put off: building its indexes over {used / 1e6:,.0f} MB "
                f"would hold start-up about {secs:,.0f} s; the store runs on v{current} "
                f"(rewind reads more slowly); to apply it, stop the broker and run "
                f"'{command(data_dir)}'")
    return put_off


def migrate_offline(path: Path, say: Callable[[str], None], every: float = 2.0) -> list[int]:
    """Apply every pending migration to the store file at ``path`` (the broker stopped),
    saying progress and elapsed time; returns the versions applied. StoreError on a
    missing or unusable file; a failed migration is rolled back."""
    if not path.is_file():
        raise StoreError(f"no event store at {path} (is --data-dir the broker's data dir?)")
    preflight(path)
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        check_file(conn, str(path))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA cache_size=-65536")  # as Store.open: 256 MiB measured no faster
        before = int(conn.execute("PRAGMA user_version").fetchone()[0])
        secs, used = estimate_s(conn)
        say(f"event store {path}: schema v{before}, {used / 1e6:,.0f} MB used; "
            f"estimated about {secs:,.0f} s")
        t0 = last = time.monotonic()

        def progress() -> int:
            nonlocal last
            now = time.monotonic()
            if now - last >= every:
                last = now
                say(f"  building indexes... {now - t0:,.0f} s elapsed "
                    f"(estimated {secs:,.0f} s)")
            return 0

        conn.set_progress_handler(progress, 200_000)
        try:
            applied = migrate(conn)
        except sqlite3.OperationalError as e:
            raise StoreError(f"event store {path}: migration failed and was rolled back "
                             f"({e}); the file is unchanged at v{before}") from e
        finally:
            conn.set_progress_handler(None, 0)
        check_schema(conn, str(path))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = int(conn.execute("PRAGMA user_version").fetchone()[0])
        say(f"event store {path}: schema v{before} -> v{after} in "
            f"{time.monotonic() - t0:,.1f} s" if applied
            else f"event store {path}: already at schema v{after}; nothing to do")
        return applied
    except sqlite3.DatabaseError as e:
        raise StoreError(f"event store {path} cannot be migrated: {e}") from e
    finally:
        conn.close()
