"""Export events as JSON lines or CSV, oldest first, streamed in chunks (constant memory)."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import UTC, datetime
from typing import Any, TextIO

from broker.store.search import COLUMNS, compile_query, row_to_event

FORMATS = ("jsonl", "csv")
CSV_FIELDS = ("id", "seq", "ts", "time", "kind", "host", "severity", "rule", "alert_id",
              "message", "data")


def export(conn: sqlite3.Connection, out: TextIO, *, since: float | None, until: float | None,
           fmt: str = "jsonl", query: str = "", now: float, loads: Any,
           chunk: int = 5000) -> int:
    """Write events with ``since <= ts < until`` (and matching ``query``); return the count."""
    count, _ = export_page(conn, out, since=since, until=until, fmt=fmt, query=query,
                           now=now, loads=loads, chunk=chunk)
    return count


def export_page(conn: sqlite3.Connection, out: TextIO, *, since: float | None,
                until: float | None, fmt: str = "jsonl", query: str = "", now: float,
                loads: Any, chunk: int = 5000, after: int = 0, limit: int | None = None,
                header: bool = True) -> tuple[int, int | None]:
    """Like ``export`` from the cursor ``after`` (a seq), at most ``limit`` events; returns
    (count, the cursor for the next page or None at the end). ``monitor-ctl export`` pulls
    pages of this one by one, so any size goes through in flat memory."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (formats: {', '.join(FORMATS)})")
    c = compile_query(query, now)
    where, params = [], list(c.params)
    if since is not None:
        where.append("e.ts >= ?")
        params.append(float(since))
    if until is not None:
        where.append("e.ts < ?")
        params.append(float(until))
    base = c.sql
    if where:
        base += (" AND " if " WHERE " in base else " WHERE ") + " AND ".join(where)
    writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n") if fmt == "csv" else None
    if writer and header:
        writer.writeheader()
    count = 0
    sep = " AND " if " WHERE " in base else " WHERE "
    while True:
        take = chunk if limit is None else min(chunk, limit - count)
        if take <= 0:
            return count, after
        rows = conn.execute(f"SELECT {COLUMNS} {base}{sep}{c.order} > ? ORDER BY {c.order} "
                            "LIMIT ?", (*params, after, take)).fetchall()
        for row in rows:
            ev = row_to_event(row, loads)
            if writer:
                writer.writerow({**ev, "time": _iso(ev["ts"]),
                                 "data": json.dumps(ev["data"], sort_keys=True)})
            else:
                out.write(json.dumps(ev, sort_keys=True) + "\n")
        count += len(rows)
        if len(rows) < take:
            return count, None
        after = rows[-1][0]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
