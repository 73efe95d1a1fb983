"""Retention: drop events older than the age limit, then trim until under the size cap.

Over the size cap, the noisiest host pays first: among the oldest ``SAMPLE`` events, the
host with the most, if it holds over twice a fair share, loses its oldest events; otherwise
the oldest events go, whoever sent them. One host storing 14k events/s no longer deletes
every other host's history when the cap fills.

Runs on the store's writer thread (the only writer), in chunks of at most ``chunk`` rows per
transaction so a large purge never holds the write lock for long. The FTS index is external
content, so each deleted row is first removed from it with the FTS5 'delete' command.
Size is the file's used pages (page_count - freelist_count): freed pages are reused by
later inserts, so the file stops growing instead of shrinking (no VACUUM on a live log).
"""

from __future__ import annotations

import sqlite3

from broker.store import rollups
from broker.store.schema import transaction

_DELETE_FTS = ("INSERT INTO events_fts(events_fts, rowid, message, host, kind, rule, alert_id) "
               "SELECT 'delete', seq, message, host, kind, rule, alert_id FROM events "
               "WHERE seq <= ?")


def used_bytes(conn: sqlite3.Connection) -> int:
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * page_size)


def _delete_through(conn: sqlite3.Connection, last_seq: int) -> int:
    """Delete events with seq <= last_seq (FTS first); caller holds the transaction."""
    conn.execute(_DELETE_FTS, (last_seq,))
    return conn.execute("DELETE FROM events WHERE seq <= ?", (last_seq,)).rowcount


SAMPLE = 100_000


def _noisiest(conn: sqlite3.Connection) -> str | None:
    """The host with over twice a fair share of the oldest SAMPLE events, if any."""
    rows = conn.execute("SELECT host, count(*) FROM (SELECT host FROM events ORDER BY seq "
                        "LIMIT ?) GROUP BY host ORDER BY 2 DESC", (SAMPLE,)).fetchall()
    if len(rows) < 2:
        return None
    total = sum(n for _, n in rows)
    host, top = rows[0]
    return str(host) if top > 2 * total / len(rows) else None


def _delete_host_oldest(conn: sqlite3.Connection, host: str, n: int) -> int:
    row = conn.execute("SELECT seq FROM events WHERE host = ? ORDER BY seq LIMIT 1 OFFSET ?",
                       (host, n - 1)).fetchone()
    end = row[0] if row else conn.execute("SELECT max(seq) FROM events WHERE host = ?",
                                          (host,)).fetchone()[0]
    if end is None:
        return 0
    conn.execute("INSERT INTO events_fts(events_fts, rowid, message, host, kind, rule, "
                 "alert_id) SELECT 'delete', seq, message, host, kind, rule, alert_id "
                 "FROM events WHERE host = ? AND seq <= ?", (host, end))
    return conn.execute("DELETE FROM events WHERE host = ? AND seq <= ?", (host, end)).rowcount


def _oldest_seq(conn: sqlite3.Connection, chunk: int) -> int | None:
    row = conn.execute("SELECT seq FROM events ORDER BY seq LIMIT 1 OFFSET ?",
                       (chunk - 1,)).fetchone()
    return row[0] if row else conn.execute("SELECT max(seq) FROM events").fetchone()[0]


def _delete_older(conn: sqlite3.Connection, cutoff: float, chunk: int) -> int:
    """Delete events with ts < cutoff, oldest first, ~chunk rows per transaction."""
    deleted = 0
    while True:
        row = conn.execute("SELECT ts FROM events WHERE ts < ? ORDER BY ts LIMIT 1 OFFSET ?",
                           (cutoff, chunk - 1)).fetchone()
        hi, op = (row[0], "<=") if row else (cutoff, "<")
        with transaction(conn):
            conn.execute("INSERT INTO events_fts(events_fts, rowid, message, host, kind, rule, "
                         "alert_id) SELECT 'delete', seq, message, host, kind, rule, alert_id "
                         f"FROM events WHERE ts {op} ?", (hi,))
            n = conn.execute(f"DELETE FROM events WHERE ts {op} ?", (hi,)).rowcount
        deleted += n
        if row is None or n == 0:
            return deleted


def enforce(conn: sqlite3.Connection, *, now: float, retention_s: float, max_bytes: int,
            rollup_1m_s: float, chunk: int = 20_000) -> dict[str, int]:
    """Apply both limits; return counts. Commits after each chunk."""
    cutoff = now - retention_s
    deleted = _delete_older(conn, cutoff, chunk)
    with transaction(conn):
        pruned = rollups.prune(conn, 60, now - rollup_1m_s)
        pruned += rollups.prune(conn, 3600, cutoff)
        conn.execute("DELETE FROM episodes WHERE ended_at IS NOT NULL AND ended_at < ?",
                     (cutoff,))
    by_size = 0
    by_host: dict[str, int] = {}
    for _ in range(100):  # FTS tombstones can keep the size up: stop, the next run goes on
        used = used_bytes(conn)
        rows = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        if used <= max_bytes or rows == 0:
            break
        want = (used - max_bytes) // max(1, used // rows) + max(1, rows // 100)
        noisy = _noisiest(conn)
        if noisy is not None:
            with transaction(conn):
                n = _delete_host_oldest(conn, noisy, min(chunk, want))
                by_size += n
                by_host[noisy] = by_host.get(noisy, 0) + n
                conn.execute("INSERT INTO events_fts(events_fts, rank) VALUES ('merge', 64)")
            continue
        end = _oldest_seq(conn, min(chunk, want))
        if end is None:
            break
        with transaction(conn):
            by_size += _delete_through(conn, end)
            conn.execute("INSERT INTO events_fts(events_fts, rank) VALUES ('merge', 64)")
    return {"deleted_age": deleted, "deleted_size": by_size, "rollups_pruned": pruned,
            "deleted_noisiest": sum(by_host.values())}
