"""The persistent outbox: every notification is written here before it is sent.

One SQLite file (the broker passes ``<data-dir>/notify.db``), WAL mode, its own
connection, table ``outbox``. A row is ``pending`` until a delivery attempt succeeds
(``delivered``), the receiver answers 4xx (``misconfigured``), it outlives its expiry
(``expired``) or the channel breaks in an unexpected way (``failed``). A restart resumes
every pending row. Delivery is exactly once per row in the normal case; a crash between
the send and the ``delivered`` mark sends that one row again (at least once).

Paging must not stop when the data dir's disk is full or read-only: when a write to the
file fails (or opening it does, short of damage: a broker restarted on a full disk), the
outbox moves to an in-memory database (the pending rows it can read are copied over),
keeps working there, and says so in ``degraded`` (the reason); rows written from then on
do not survive a restart.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker.notify.base import Notification

FINAL = ("delivered", "failed", "expired", "misconfigured", "peer")  # peer: a paired
# broker delivered it (or gave it up), see broker/notify/claims.py
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    receiver TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    next_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (receiver, status, next_at);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_alerts (id TEXT NOT NULL, alert_id TEXT NOT NULL,
    episode TEXT NOT NULL DEFAULT '', PRIMARY KEY (alert_id, id)) WITHOUT ROWID;
"""
# which alerts (and episodes) each notification carries: the incident view asks "what was
# sent about this alert" without parsing every payload. Rows from before the table: filled
# once from the payloads (json_each) when the file is opened.
_BACKFILL = """
INSERT OR IGNORE INTO outbox_alerts (id, alert_id, episode)
SELECT o.id, a.value ->> 'id', coalesce(a.value ->> 'episode', '')
FROM outbox o, json_each(o.payload, '$.alerts') a
WHERE a.value ->> 'id' IS NOT NULL AND o.id NOT IN (SELECT id FROM outbox_alerts)
"""


class OutboxError(RuntimeError):
    """The outbox file cannot be opened; the message names it."""


@dataclass
class Row:
    id: str
    receiver: str
    notification: Notification
    attempts: int
    expires_at: float
    created: float


class Outbox:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise OutboxError(f"notification outbox {self.path} is a directory, not a file")
        self.degraded = ""  # why the outbox runs in memory ("" while on its file)
        self.resent_after_crash = 0
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10.0,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash
            self._db.executescript(_SCHEMA)
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(outbox)")}
            if "sending_since" not in cols:  # files from before the resend count
                self._db.execute("ALTER TABLE outbox ADD COLUMN sending_since REAL")
            if self._db.execute("SELECT count(*) FROM state WHERE key = 'outbox_alerts'"
                                ).fetchone()[0] == 0:
                self._db.execute(_BACKFILL)
                self._db.execute("INSERT INTO state VALUES ('outbox_alerts', '1')")
            # rows a crash caught between the attempt and its record: sent again, same key
            self.resent_after_crash = self._db.execute(
                "SELECT count(*) FROM outbox WHERE status = 'pending' AND sending_since IS NOT "
                "NULL").fetchone()[0]
        except sqlite3.OperationalError as exc:  # disk full, I/O error: not damage. A
            # broker restarted on a full disk pages from memory rather than not at all.
            self._to_memory(f"{self.path}: {exc}")
        except sqlite3.DatabaseError as exc:
            raise OutboxError(f"notification outbox {self.path} cannot be used ({exc}); move "
                              "it aside to start with an empty outbox") from None

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """A write; on a file that refuses writes, move to memory and write there."""
        try:
            return self._db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if self.degraded:
                raise
            self._to_memory(f"{self.path}: {exc}")
            return self._db.execute(sql, params)

    def _to_memory(self, reason: str) -> None:
        mem = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        mem.executescript(_SCHEMA)
        mem.execute("ALTER TABLE outbox ADD COLUMN sending_since REAL")
        old: sqlite3.Connection | None = getattr(self, "_db", None)  # None: open failed
        try:
            rows = old.execute("SELECT * FROM outbox WHERE status = 'pending'").fetchall() \
                if old is not None else []
        except sqlite3.Error:
            rows = []
        if rows:
            marks = ",".join("?" * len(rows[0]))
            mem.executemany(f"INSERT INTO outbox VALUES ({marks})", rows)  # noqa: S608
            mem.execute(_BACKFILL)
        try:
            if old is not None:
                mem.executemany("INSERT INTO state VALUES (?, ?)",
                                old.execute("SELECT key, value FROM state").fetchall())
        except sqlite3.Error:
            pass
        self._db, self.degraded = mem, reason
        try:
            if old is not None:
                old.close()
        except sqlite3.Error:
            pass

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, n: Notification, summary: str, now: float, expire: float) -> None:
        self.add_all([(n, summary, expire)], now)

    def add_all(self, rows: list[tuple[Notification, str, float]], now: float,
                state: tuple[str, str] | None = None) -> int:
        """Record the intent to send ``rows`` (notification, summary, expire), and ``state``
        (key, value) with them, in one transaction: both or neither survive a crash. A row
        whose id is already there (the same notification again) is ignored. Returns the
        number of new rows."""
        with self._lock:
            return self._write_all(rows, now, state)

    def _write_all(self, rows: list[tuple[Notification, str, float]], now: float,
                   state: tuple[str, str] | None, retry: bool = True) -> int:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            added = 0
            for n, summary, expire in rows:
                added += db.execute(
                    "INSERT OR IGNORE INTO outbox (id, receiver, kind, status, summary, payload,"
                    " created, next_at, expires_at, updated) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (n.id, n.receiver, n.kind, "pending", summary, n.to_json(), now, now,
                     now + expire, now)).rowcount
                db.executemany("INSERT OR IGNORE INTO outbox_alerts VALUES (?, ?, ?)",
                               [(n.id, str(a["id"]), str(a.get("episode") or ""))
                                for a in n.alerts if a.get("id")])
            if state is not None:
                db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", state)
            db.execute("COMMIT")
            return added
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if self.degraded or not retry:
                raise
            self._to_memory(f"{self.path}: {exc}")
            return self._write_all(rows, now, state, retry=False)

    def load_state(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def due(self, receiver: str, now: float, limit: int = 20) -> list[Row]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, receiver, payload, attempts, expires_at, created FROM outbox"
                " WHERE receiver = ? AND status = 'pending' AND next_at <= ?"
                " ORDER BY next_at, created LIMIT ?", (receiver, now, limit)).fetchall()
        return [Row(r[0], r[1], Notification.from_json(r[2]), r[3], r[4], r[5]) for r in rows]

    def next_due(self, receiver: str) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_at) FROM outbox WHERE receiver = ? AND status = 'pending'",
                (receiver,)).fetchone()
        return row[0] if row and row[0] is not None else None

    def mark_sending(self, id_: str, now: float) -> None:
        """Just before an attempt; cleared by the attempt's outcome."""
        with self._lock:
            self._exec("UPDATE outbox SET sending_since=? WHERE id=?", (now, id_))

    def mark_delivered(self, id_: str, now: float) -> None:
        with self._lock:
            self._exec(
                "UPDATE outbox SET status='delivered', attempts=attempts+1, updated=?,"
                " delivered_at=?, last_error='', sending_since=NULL WHERE id=?",
                (now, now, id_))

    def mark_retry(self, id_: str, now: float, next_at: float, error: str) -> None:
        with self._lock:
            self._exec(
                "UPDATE outbox SET attempts=attempts+1, next_at=?, last_error=?, updated=?,"
                " sending_since=NULL WHERE id=?", (next_at, error, now, id_))

    def defer(self, id_: str, now: float, next_at: float, note: str) -> None:
        """Look again at ``next_at`` without counting an attempt (a peer holds the claim)."""
        with self._lock:
            self._db.execute("UPDATE outbox SET next_at=?, last_error=?, updated=? WHERE id=?",
                             (next_at, note, now, id_))

    def mark_final(self, id_: str, status: str, now: float, error: str,
                   attempted: bool = True) -> None:
        assert status in FINAL
        with self._lock:
            self._exec(
                "UPDATE outbox SET status=?, attempts=attempts+?, last_error=?, updated=?,"
                " sending_since=NULL WHERE id=?", (status, int(attempted), error, now, id_))

    def fail_unknown_receivers(self, known: set[str], now: float) -> int:
        """Pending rows for receivers no longer configured cannot be sent: mark failed."""
        marks = ",".join("?" * len(known)) or "''"
        with self._lock:
            cur = self._exec(
                f"UPDATE outbox SET status='failed', updated=?, last_error="  # noqa: S608
                f"'receiver no longer configured' WHERE status='pending' AND receiver NOT IN ({marks})",
                (now, *sorted(known)))
            return cur.rowcount

    def recent(self, limit: int = 50, alert_id: str = "", episode: str = ""
               ) -> list[dict[str, Any]]:
        """Newest first; ``alert_id`` (and ``episode``): only the notifications that
        carried that alert (in that episode)."""
        where, params = "", []
        if alert_id:
            where = (" WHERE id IN (SELECT id FROM outbox_alerts WHERE alert_id = ?"
                     + (" AND episode = ?)" if episode else ")"))
            params = [alert_id, episode] if episode else [alert_id]
        with self._lock:
            rows = self._db.execute(
                "SELECT id, receiver, kind, status, summary, created, updated, attempts,"
                " last_error, delivered_at, next_at FROM outbox" + where +  # noqa: S608
                " ORDER BY created DESC, rowid DESC LIMIT ?", (*params, int(limit))).fetchall()
        keys = ("id", "receiver", "kind", "status", "summary", "created", "updated", "attempts",
                "error", "delivered_at", "next_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """{receiver: {status: count}}."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for recv, status, n in self._db.execute(
                    "SELECT receiver, status, COUNT(*) FROM outbox GROUP BY receiver, status"):
                out.setdefault(recv, {})[status] = n
        return out

    def prune(self, before: float) -> int:
        """Forget finished rows last touched before ``before``; pending rows are kept."""
        with self._lock:
            cur = self._exec(
                "DELETE FROM outbox WHERE status != 'pending' AND updated < ?", (before,))
            if cur.rowcount:
                self._exec("DELETE FROM outbox_alerts WHERE id NOT IN (SELECT id FROM outbox)")
            return cur.rowcount
