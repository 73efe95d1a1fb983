"""Helpers shared by the store, search and rollup tests: a real store in tmp_path."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from broker.store.store import Store
from core.clock import FakeClock

T0 = 1_700_000_000.0


def ev(kind: str = "log", message: str = "", *, ts: float = T0, host: str = "",
       severity: str = "info", rule: str = "", alert_id: str = "",
       data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ts": ts, "kind": kind, "host": host,
            "severity": severity, "rule": rule, "alert_id": alert_id, "message": message,
            "data": data or {}}


@contextlib.contextmanager
def running_store(path: Path, clock: FakeClock | None = None, start: bool = True,
                  **kw: Any) -> Iterator[Store]:
    store = Store(path, clock=clock or FakeClock(T0), batch_interval=0.01, **kw).open()
    if start:
        store.start()
    try:
        yield store
    finally:
        store.stop()


def v2_file(path: Path, series: int = 1000, minutes: int = 6) -> None:
    """A real schema-v2 event store file, as a broker before schema v3 left it: 16 KiB
    pages, WAL, ``series`` x ``minutes`` minute rollups, an alert's events and episode."""
    import json
    import sqlite3

    from broker.store.schema import APPLICATION_ID, MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size=16384")
    conn.execute("PRAGMA journal_mode=WAL")
    for version, script in MIGRATIONS[:2]:
        for stmt in script.split(";"):
            if stmt.strip():
                conn.execute(stmt)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO rollups SELECT 60, 'h' || (i % 50), 'm' || (i / 50 % (? / 50)), "
        "? + (i / ?) * 60, i % 7, i % 7, i % 7, 1 FROM n",
        (series * minutes - 1, series, int(T0 // 60 * 60) - minutes * 60, series))
    for i, to in enumerate(("pending", "firing")):
        conn.execute("INSERT INTO events(id, ts, kind, host, severity, rule, alert_id, message, "
                     "data) VALUES (?, ?, 'alert', 'h1', 'warning', 'r', 'a1', 'm', ?)",
                     (f"e{i}", T0 - 120 + i * 60, json.dumps({"to": to})))
    conn.execute("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")  # indexed, as the writer does
    conn.execute("INSERT INTO episodes(alert_id, rule, host, severity, started_at) "
                 "VALUES ('a1', 'r', 'h1', 'warning', ?)", (T0 - 60,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _filled(path: Path) -> None:
    with running_store(path) as s:
        for i in range(3000):
            s.put(ev("log", f"payload number {i} " * 5, host=f"h{i % 7}"))


def damaged(path: Path) -> None:
    """A store with a page in every four scribbled over (what an open reads too)."""
    _filled(path)
    data = bytearray(path.read_bytes())
    for off in range(8192, len(data) - 4096, 16384):
        data[off:off + 2048] = b"\xa5" * 2048
    path.write_bytes(bytes(data))


def old_rows_damaged(path: Path) -> None:
    """A store whose events table's oldest leaf pages are scribbled over; the newest rows,
    the schema and the indexes (all that an open reads) stay intact."""
    _filled(path)
    conn = sqlite3.connect(path)
    pages = [r[0] for r in conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY path")]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    assert len(pages) > 20, pages
    data = bytearray(path.read_bytes())
    for n in pages[1:6]:
        data[(n - 1) * size + 8:(n - 1) * size + 200] = b"\xa5" * 192  # cell pointers
    path.write_bytes(bytes(data))
