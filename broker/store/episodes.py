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

from core.protocol import SEVERITY_RANK

_CLOSE = ("resolved", "inactive")
_COLS = "id, alert_id, rule, host, severity, started_at, ended_at, peak, last_value, acks, simulated"


def _value(data: dict[str, Any]) -> float | None:
    v = data.get("value")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _worse(a: str, b: str) -> str:
    return a if SEVERITY_RANK.get(a, 0) >= SEVERITY_RANK.get(b, 0) else b


# The final state of every episode a batch touched, written with one statement: a
# statement per alert event (the old way) waited for the GIL after every step while a
# producer thread ran (~270 us an INSERT at 50k events/s).
_UPSERT = (f"INSERT INTO episodes({_COLS}) SELECT value->>0, value->>1, value->>2, value->>3, "
           "value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10 "
           "FROM json_each(?) WHERE true ON CONFLICT(id) DO UPDATE SET severity = "
           "excluded.severity, ended_at = excluded.ended_at, peak = excluded.peak, "
           "last_value = excluded.last_value, acks = excluded.acks")
_ID, _SEV, _ENDED, _PEAK, _LAST, _ACKS = 0, 4, 6, 7, 8, 9  # positions in a row (_COLS)


class OpenEpisodes:
    """The open episodes by alert id, cached so the writer does not query per event.

    Each is its whole row (the columns of ``_COLS``, ``acks`` as a list); ``next_id`` is
    the id the next episode gets. After a failed (rolled back) transaction the writer
    calls ``load`` again.
    """

    def __init__(self) -> None:
        self.open: dict[str, list[Any]] = {}  # alert_id -> row
        self.next_id = 1

    def load(self, conn: sqlite3.Connection) -> None:
        self.open = {}
        for r in conn.execute(f"SELECT {_COLS} FROM episodes WHERE ended_at IS NULL "
                              "ORDER BY id"):
            row = list(r)
            row[_ACKS] = json.loads(row[_ACKS])
            self.open[row[1]] = row
        self.next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM episodes"
                                    ).fetchone()[0]

    def apply(self, conn: sqlite3.Connection, events: list[dict[str, Any]]) -> None:
        touched: dict[int, list[Any]] = {}
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
                    row[_ACKS].append({"ts": ev["ts"], "kind": kind,
                                       "author": str(data.get("author", "")),
                                       "comment": str(data.get("comment", ""))})
                    touched[row[_ID]] = row
                continue
            to, value = data.get("to"), _value(data)
            if row is None and to == "firing":
                raw_alert = data.get("alert")
                alert: dict[str, Any] = raw_alert if isinstance(raw_alert, dict) else {}
                row = [self.next_id, str(aid), str(ev.get("rule") or ""),
                       str(ev.get("host") or ""), str(ev.get("severity") or "info"),
                       float(ev["ts"]), None, value, value, [],
                       int(bool(alert.get("simulated")))]
                self.next_id += 1
                self.open[aid] = touched[row[_ID]] = row
            elif row is not None:
                row[_SEV] = _worse(row[_SEV], str(ev.get("severity") or "info"))
                if value is not None:
                    row[_PEAK] = value if row[_PEAK] is None else max(row[_PEAK], value)
                    row[_LAST] = value
                touched[row[_ID]] = row
                if to in _CLOSE:
                    row[_ENDED] = float(ev["ts"])
                    del self.open[aid]
        if touched:
            conn.execute(_UPSERT, (json.dumps(
                [[*r[:_ACKS], json.dumps(r[_ACKS]), *r[_ACKS + 1:]] for r in touched.values()],
                allow_nan=False),))


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
