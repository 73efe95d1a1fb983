"""Alert episodes, maintained by the store's writer from the events it commits.

An episode is one firing of one alert: it opens at the ``alert`` event whose
``data["to"]`` is ``firing`` (a ``pending`` alert that never fires is no episode), follows
its severity and peak ``value`` through later ``alert`` events, collects ``ack``/``unack``
events naming the alert, and closes at ``to`` in ``resolved``/``inactive``. Applied in the
same transaction as the events, so episodes and the log never disagree.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

from broker.search import SEVERITIES

_CLOSE = ("resolved", "inactive")
_COLS = "id, alert_id, rule, host, severity, started_at, ended_at, peak, last_value, acks, simulated"


def _value(data: dict[str, Any]) -> float | None:
    v = data.get("value")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _worse(a: str, b: str) -> str:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


class OpenEpisodes:
    """The open episodes by alert id, cached so the writer does not query per event.

    After a failed (rolled back) transaction the writer calls ``load`` again.
    """

    def __init__(self) -> None:
        self.open: dict[str, list[Any]] = {}  # alert_id -> [id, severity, peak, acks]

    def load(self, conn: sqlite3.Connection) -> None:
        self.open = {r[0]: [r[1], r[2], r[3], json.loads(r[4])] for r in conn.execute(
            "SELECT alert_id, id, severity, peak, acks FROM episodes WHERE ended_at IS NULL "
            "ORDER BY id")}

    def apply(self, conn: sqlite3.Connection, events: list[dict[str, Any]]) -> None:
        for ev in events:
            kind = ev.get("kind")
            if kind not in ("alert", "ack", "unack") or not ev.get("alert_id"):
                continue
            aid = ev["alert_id"]
            raw = ev.get("data")
            data: dict[str, Any] = raw if isinstance(raw, dict) else {}
            row = self.open.get(aid)
            if kind != "alert":
                if row:
                    row[3].append({"ts": ev["ts"], "kind": kind,
                                   "author": str(data.get("author", "")),
                                   "comment": str(data.get("comment", ""))})
                    conn.execute("UPDATE episodes SET acks = ? WHERE id = ?",
                                 (json.dumps(row[3]), row[0]))
                continue
            to, value = data.get("to"), _value(data)
            raw_alert = data.get("alert")
            alert: dict[str, Any] = raw_alert if isinstance(raw_alert, dict) else {}
            if row is None and to == "firing":
                cur = conn.execute(
                    "INSERT INTO episodes(alert_id, rule, host, severity, started_at, peak, "
                    "last_value, simulated) VALUES (?,?,?,?,?,?,?,?)",
                    (aid, ev.get("rule", ""), ev.get("host", ""), ev.get("severity", "info"),
                     ev["ts"], value, value, int(bool(alert.get("simulated")))))
                self.open[aid] = [cur.lastrowid, ev.get("severity", "info"), value, []]
            elif row is not None:
                row[1] = _worse(row[1], ev.get("severity", "info"))
                if value is not None:
                    row[2] = value if row[2] is None else max(row[2], value)
                closing = to in _CLOSE
                conn.execute("UPDATE episodes SET severity = ?, peak = ?, last_value = "
                             "coalesce(?, last_value), ended_at = ? WHERE id = ?",
                             (row[1], row[2], value, ev["ts"] if closing else None, row[0]))
                if closing:
                    del self.open[aid]


def query(conn: sqlite3.Connection, *, host: str | None = None, rule: str | None = None,
          alert_id: str | None = None, since: float | None = None, until: float | None = None,
          open_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first. ``since``/``until`` select episodes that overlap the range."""
    where: list[str] = []
    params: list[Any] = []
    for col, val in (("host", host), ("rule", rule), ("alert_id", alert_id)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    if since is not None:
        where.append("(ended_at IS NULL OR ended_at >= ?)")
        params.append(since)
    if until is not None:
        where.append("started_at < ?")
        params.append(until)
    if open_only:
        where.append("ended_at IS NULL")
    sql = f"SELECT {_COLS} FROM episodes" + (" WHERE " + " AND ".join(where) if where else "")
    rows = conn.execute(sql + " ORDER BY started_at DESC, id DESC LIMIT ?", (*params, limit))
    keys = [c.strip() for c in _COLS.split(",")]
    out = []
    for r in rows:
        d = dict(zip(keys, r, strict=True))
        d["acks"] = json.loads(d["acks"])
        d["simulated"] = bool(d["simulated"])
        out.append(d)
    return out
