"""Running a compiled search: newest first, paged, with a plan that stays fast at 1M rows.

SQLite's planner, asked for ``ORDER BY seq DESC LIMIT 50`` with a filter such as
``kind:alert``, reads every matching row through the kind index and sorts them (200 ms at
1M events). When no filter is selective it is much cheaper to walk the table newest first
and stop at the 50th match. So each filter an index could serve is probed (count up to
``PROBE``): the first selective one's index is named (``INDEXED BY``: the planner otherwise
walked the whole table for ``until:`` with no match, 90 ms); if none is selective the query
runs ``NOT INDEXED``. An exact host, rule or alert needs no probe: its index is in seq order. Exclusion-only queries
(``-debug host:web-1``) test candidates against the full-text index inside a window of the
newest rows that grows fourfold until it holds enough results.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from broker.store.search import COLUMNS, Compiled, QueryError, compile_query, row_to_event

PROBE = 2000
FIRST_WINDOW = 20_000


def _plan(conn: sqlite3.Connection, c: Compiled) -> str:
    """The FROM clause: 'events e' (let SQLite choose), INDEXED BY a selective filter's
    index, or NOT INDEXED (walk newest first) when no filter is selective."""
    if any(index is None for _, _, index in c.probes):
        return "events e"  # an exact host/rule/alert: its index is already newest first
    for sql, params, index in c.probes:
        n = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM events e WHERE {sql} LIMIT ?)",
                         (*params, PROBE)).fetchone()[0]
        if n < PROBE:
            return f"events e INDEXED BY {index}"
    return "events e NOT INDEXED"


def search(conn: sqlite3.Connection, text: str, *, now: float, limit: int = 50,
           before_ts: float | None = None, before_seq: int | None = None,
           loads: Any = None) -> list[dict[str, Any]]:
    """Newest first (by ``seq``, the order events were recorded); page with ``before_seq``."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise QueryError(f"limit must be a positive integer, not {limit!r}")
    c = compile_query(text, now)
    try:
        rows = run_compiled(conn, c, limit=limit, before_ts=before_ts, before_seq=before_seq)
    except sqlite3.OperationalError as e:  # should not happen; never leak it as a crash
        raise QueryError(f"query {text!r} could not run: {e}") from e
    return [row_to_event(r, loads) for r in rows]


def run_compiled(conn: sqlite3.Connection, c: Compiled, *, limit: int,
                 before_ts: float | None = None, before_seq: int | None = None
                 ) -> list[tuple[Any, ...]]:
    """The rows of a compiled query, planned; what ``search`` costs minus parsing and dicts."""
    sql, params = c.sql, list(c.params)
    extra = []
    if before_seq is not None:
        extra.append(f"{c.order} < ?")
        params.append(int(before_seq))
    if before_ts is not None:
        extra.append("e.ts < ?")
        params.append(float(before_ts))
    if extra:
        sql += (" AND " if " WHERE " in sql else " WHERE ") + " AND ".join(extra)
    if c.exclude_only:
        return _windowed(conn, c, sql, params, limit, before_seq)
    planned = sql
    if not c.fts and c.probes:
        planned = sql.replace("FROM events e", "FROM " + _plan(conn, c), 1)
    try:
        return _run(conn, planned, c.order, params, limit)
    except sqlite3.OperationalError:
        if planned == sql:  # the hint could not be used (a glob like *web)
            raise
        return _run(conn, sql, c.order, params, limit)


def _run(conn: sqlite3.Connection, sql: str, order: str, params: list[Any],
         limit: int) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT {COLUMNS} {sql} ORDER BY {order} DESC LIMIT ?",
                        (*params, limit)).fetchall()


def _windowed(conn: sqlite3.Connection, c: Compiled, sql: str, params: list[Any],
              limit: int, before_seq: int | None) -> list[tuple[Any, ...]]:
    top = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
    if before_seq is not None:
        top = min(top, int(before_seq) - 1)
    window = FIRST_WINDOW
    wpos = len(c.params) - 1  # the exclusion subquery's "rowid >= ?"
    while True:
        lo = max(0, top - window)
        params[wpos] = lo
        rows = conn.execute(f"SELECT {COLUMNS} {sql} AND e.seq >= ? ORDER BY e.seq DESC "
                            "LIMIT ?", (*params, lo, limit)).fetchall()
        if len(rows) >= limit or lo == 0:
            return rows
        window *= 4
