"""The fleet at a past moment (control ``fleet_at``): read-only queries over the store.

Metrics come from the rollups: per host and metric, the bucket containing the moment, or
the one before; for a host the broker knows now but that sent nothing then, the newest
within ``BOUND_BUCKETS`` buckets (the minutes not written yet are read from memory,
``Rollups.open_rows``). Alerts come from the episodes (what was firing,
however long before) and the alert events (what was pending, the alert's own dict as its
last event before the moment carried it: severity, value, acked, silenced).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from broker.store.rollups import Rollups

BOUND_BUCKETS = 5  # a host with no bucket this close before the moment has no data then
UP_BUCKETS = 1  # its newest bucket at most this many before the moment's: it was up
RESOLVED_KEEP_S = 900.0  # resolved alerts stay listed this long (as the engine keeps them)
LOOKBACK_S = 900.0  # at least this far back, alert events name the alerts pending then
HISTORY_BUCKETS = 60  # the sparkline of a detailed host: this many buckets up to the moment
ACTIVE = ("pending", "firing")

HostAt = tuple[int, dict[str, float]]  # newest bucket start, {metric: average}
Row = tuple[str, str, int, float, int]  # an open bucket: host, metric, start, sum, count
_DASH_NAMES = frozenset(("cpu.percent", "mem.percent", "swap.percent", "load.1", "load.5",
                         "load.15", "cpu.count"))


def oldest(conn: sqlite3.Connection, rollups: Rollups, step: int) -> int | None:
    """The start of the oldest bucket of ``step`` the store holds (or memory), if any."""
    row = conn.execute("SELECT min(ts) FROM rollups WHERE step = ?", (step,)).fetchone()
    found = [int(x) for x in (row[0] if row else None, rollups.oldest_open(step))
             if x is not None]
    return min(found) if found else None


# One row a host: its metrics' averages as a JSON object built by SQLite from the covering
# index rollups_at (schema v3), read in index order (step, ts, host): no row lookups, no
# sort, and json.loads per host instead of a Python tuple per series (3x faster at 21k
# series). A file still on v2 (its migration put off: disk full) reads rollups_age (step,
# ts) instead: the same order, but sum and count cost a row lookup per series.
# A brief picture (a big fleet) gives most hosts only what a dashboard row shows, as the
# snapshot's brief hosts have the digest's figures: a third of the JSON to build and parse.
_DASH = (f"metric IN ({', '.join(repr(n) for n in sorted(_DASH_NAMES))}) OR metric LIKE "
         "'disk.%.percent' OR metric LIKE 'net.%.rx_bps' OR metric LIKE 'net.%.tx_bps'")
_AT = ("SELECT host, json_group_object(metric, sum / count) FROM rollups INDEXED BY {index} "
       "WHERE step = ? AND ts = ? AND count > 0 AND host NOT IN (SELECT value FROM "
       f"json_each(?)) AND (? OR {_DASH} OR host IN (SELECT value FROM json_each(?))) "
       "GROUP BY host")
_BEFORE = ("SELECT host, metric, max(ts), sum, count FROM rollups INDEXED BY {index} "
           "WHERE step = ? AND ts >= ? AND ts < ? AND host IN (SELECT value FROM json_each(?)) "
           "AND count > 0 GROUP BY host, metric")


def metrics_at(conn: sqlite3.Connection, rollups: Rollups, t: float, step: int,
               expected: set[str], full: set[str] | None = None,
               covering: bool = True) -> dict[str, HostAt]:
    """host -> (its newest bucket start, {metric: average}); with ``full``, only the hosts
    it names come with every metric, the others with a dashboard row's (``_DASH``).

    Every host with a bucket at the moment's or the one before (the moment's when it has
    one); for the ``expected`` hosts (those the broker knows now)
    that have neither, the newest within ``BOUND_BUCKETS`` (a host that had gone quiet:
    down then). The minutes not written yet come from memory (``Rollups.open_rows``).
    ``covering``: the file has schema v3's rollups_at (else rollups_age)."""
    index = "rollups_at" if covering else "rollups_age"
    bucket = int(t // step) * step
    lo = bucket - BOUND_BUCKETS * step
    hosts: dict[str, HostAt] = {}
    for start in (bucket, bucket - step):  # the one before: only hosts not in the moment's
        args = (step, start, json.dumps(list(hosts)), full is None,
                json.dumps(sorted(full or ())))
        for host, metrics in conn.execute(_AT.format(index=index), args):
            hosts[host] = (start, json.loads(metrics))
    _overlay(hosts, _brief(rollups.open_rows(step, bucket - step, bucket), full))
    missing = expected - hosts.keys()
    if missing:
        older: dict[str, HostAt] = {}
        args_before = (step, lo, bucket - step, json.dumps(sorted(missing)))
        for host, metric, ts, total, n in conn.execute(_BEFORE.format(index=index),
                                                       args_before):
            entry = older.setdefault(host, (ts, {}))
            if ts > entry[0]:
                entry = older[host] = (ts, entry[1])
            entry[1][metric] = total / n
        _overlay(older, _brief([r for r in rollups.open_rows(step, lo, bucket - 2 * step)
                                if r[0] in missing], full))
        hosts.update(older)
    return hosts


def _dash(metric: str) -> bool:
    """``_DASH`` in Python: a metric a dashboard row shows."""
    return metric in _DASH_NAMES or (metric.startswith("disk.") and metric.endswith(".percent")) \
        or (metric.startswith("net.") and metric.endswith((".rx_bps", ".tx_bps")))


def _brief(rows: list[Row], full: set[str] | None) -> list[Row]:
    """The buckets still in memory, cut as ``_AT`` cuts the stored ones: a brief picture's
    hosts outside ``full`` with a dashboard row's metrics only. Uncut, rewinding a minute
    or two at 10,000 hosts sent every series of every host (memory holds the newest
    minutes): the console's memory grew by 115 MB at one step."""
    if full is None:
        return rows
    return [r for r in rows if r[0] in full or _dash(r[1])]


def _overlay(hosts: dict[str, HostAt], rows: list[Row]) -> None:
    """Fold the buckets still in memory (rare but for the last minute or two) into what
    was read from disk. A bucket part written and part in memory (a late sample) shows the
    memory's part: close enough for a picture of the past."""
    for host, metric, ts, total, n in sorted(rows, key=lambda r: r[2]):
        if n <= 0:
            continue
        entry = hosts.get(host)
        if entry is None or ts > entry[0]:
            entry = hosts[host] = (ts, dict(entry[1]) if entry else {})
        elif ts < entry[0]:
            continue
        entry[1][metric] = total / n


def history_at(conn: sqlite3.Connection, rollups: Rollups, host: str, metrics: list[str],
               t: float, step: int) -> dict[str, list[float]]:
    """{metric: averages of the last HISTORY_BUCKETS buckets up to ``t``, oldest first}
    (one primary-key range per metric)."""
    hi = int(t // step) * step
    lo = hi - (HISTORY_BUCKETS - 1) * step
    out: dict[str, list[float]] = {}
    open_rows: dict[tuple[str, int], tuple[float, int]] = {}
    for h, metric, ts, total, n in rollups.open_rows(step, lo, hi):
        if h == host:
            open_rows[(metric, ts)] = (total, n)
    for metric in metrics:
        buckets = {ts: (total, n) for ts, total, n in conn.execute(
            "SELECT ts, sum, count FROM rollups WHERE step = ? AND host = ? AND metric = ? "
            "AND ts >= ? AND ts <= ? ORDER BY ts", (step, host, metric, lo, hi))}
        for (m, ts), (total, n) in open_rows.items():
            if m == metric:
                old = buckets.get(ts, (0.0, 0))
                buckets[ts] = (old[0] + total, old[1] + n)
        values = [total / n for _, (total, n) in sorted(buckets.items()) if n > 0]
        if values:
            out[metric] = values
    return out


def alerts_at(conn: sqlite3.Connection, t: float,
              pending_s: float = LOOKBACK_S) -> list[dict[str, Any]]:
    """The alerts a console would have listed at ``t``: pending and firing ones, and those
    resolved in the RESOLVED_KEEP_S before it, each as its last event before ``t`` left it.
    Firing and resolved ones come from the episodes; a pending one has none, so it is
    found by its events in the ``pending_s`` before ``t``: the caller passes the longest
    ``for:`` of the rules (an alert is pending at most that long), at least LOOKBACK_S."""
    ids = {r[0] for r in conn.execute(
        "SELECT alert_id FROM episodes WHERE started_at <= ? AND (ended_at IS NULL OR "
        "ended_at > ?)", (t, t - RESOLVED_KEEP_S))}
    ids.update(r[0] for r in conn.execute(
        "SELECT DISTINCT alert_id FROM events WHERE alert_id != '' AND ts > ? AND ts <= ?",
        (t - max(pending_s, LOOKBACK_S), t)))
    starts = dict(conn.execute(
        "SELECT alert_id, max(started_at) FROM episodes WHERE started_at <= ? AND alert_id IN "
        "(SELECT value FROM json_each(?)) GROUP BY alert_id", (t, json.dumps(sorted(ids)))))
    out = []
    for aid in sorted(ids):
        row = conn.execute(
            "SELECT kind, ts, host, rule, severity, data FROM events WHERE alert_id != '' "
            "AND alert_id = ? AND ts <= ? AND kind IN ('alert', 'ack', 'unack', 'simulate') "
            "ORDER BY seq DESC LIMIT 1", (aid, t)).fetchone()
        if row is None:
            continue
        kind, ts, host, rule, severity, data = row
        alert = _alert_of(aid, kind, ts, host, rule, severity, data, starts.get(aid))
        state = alert.get("state")
        if state in ACTIVE or (state == "resolved" and float(
                alert.get("resolved_at") or row[1]) > t - RESOLVED_KEEP_S):
            out.append(alert)
    return out


def _alert_of(aid: str, kind: str, ts: float, host: str, rule: str, severity: str,
              raw: str, started: float | None) -> dict[str, Any]:
    """The alert dict an event carried (``data.alert``), or one made from its fields."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    alert = data.get("alert")
    if isinstance(alert, dict) and alert.get("id"):
        alert = dict(alert)
        if kind == "alert" and isinstance(data.get("to"), str):
            alert["state"] = data["to"]
        return alert
    # an event without the alert's dict (written by hand, or by an older broker)
    state = data.get("to") if kind == "alert" else "firing"
    value = data.get("value")
    return {"id": aid, "rule": rule, "host": host, "labels": {}, "severity": severity,
            "state": state if isinstance(state, str) else "firing",
            "acked": kind == "ack", "ack": None, "silenced": [], "inhibited": False,
            "flapping": False, "value": value if isinstance(value, int | float) else None,
            "threshold": data.get("threshold"), "metric": "", "summary": "",
            "description": "", "started_at": started if started is not None else ts,
            "updated_at": ts, "resolved_at": ts if state in ("resolved", "inactive") else None,
            "simulated": kind == "simulate"}
