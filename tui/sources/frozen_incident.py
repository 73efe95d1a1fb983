"""The frozen fleet's incident material: top processes, log lines and notifications.

What the ``incident`` op reads besides the alerts: the frozen source puts the log lines into
its real store (with the processes at the start in the alerts' opening events) and answers
``incident`` through the broker's own handler (tui/sources/frozen_store.py). Fixed data,
so two runs give the same screens.
"""

from __future__ import annotations

import hashlib
from typing import Any

# name, user, base cpu %, rss MiB
_PROCS = [("nginx", "www-data", 6.0, 180), ("python3", "app", 11.0, 620),
          ("postgres", "postgres", 4.0, 2100), ("node", "app", 8.0, 480),
          ("redis-server", "redis", 2.0, 900), ("sshd", "root", 0.3, 8),
          ("systemd-journal", "root", 0.5, 64), ("monitor-agent", "monitor", 0.8, 42)]
# what is burning on the hosts with a CPU or memory alert (at the start, and now)
_HOT = {"web-2": [("java", "app", 71.0, 3400), ("gzip", "www-data", 19.0, 12)],
        "worker-3": [("celery", "app", 22.0, 21_000)],
        "db-1": [("pg_dump", "postgres", 34.0, 900)]}


def _pid(host: str, name: str) -> int:
    return 1000 + int(hashlib.sha1(f"{host}/{name}".encode()).hexdigest()[:4], 16)


def processes(host: str, ts: float, start: bool = False) -> dict[str, Any]:
    """The top five by CPU, as ``HostRecord.top_processes`` gives them; at the start of an
    incident the hot process had just begun (a lower share)."""
    rows = [(n, u, c * (0.6 if start else 1.0), r) for n, u, c, r in _HOT.get(host, [])]
    rows += [(n, u, c + (len(host) % 3), r) for n, u, c, r in _PROCS]
    rows.sort(key=lambda r: r[2], reverse=True)
    return {"ts": ts, "top": [{"pid": _pid(host, n), "name": n, "user": u,
                               "cpu_percent": round(c, 1), "rss": r * 2**20}
                              for n, u, c, r in rows[:5]]}


def log_lines(now: float) -> list[dict[str, Any]]:
    """web-2's log around its CPU alert (started 184 s before ``now``)."""
    from tui.sources.frozen_data import event

    lines = [(-470, "info", "nginx: reopening logs after rotation"),
             (-300, "info", "app: deploy 2023.11.14-3 started by ci"),
             (-262, "info", "app: worker pool resized to 64 threads"),
             (-231, "warning", "app: GC pause 1.8 s (old gen 93%)"),
             (-190, "warning", "app: request queue depth 412 (limit 500)"),
             (-121, "error", "app: GC overhead limit exceeded in ReportBuilder"),
             (-64, "warning", "nginx: upstream timed out (110: Connection timed out)"),
             (-20, "info", "app: health check /ready answered 503")]
    return [event("log", msg, now + dt, host="web-2", severity=sev, eid=f"lg{i:03d}")
            for i, (dt, sev, msg) in enumerate(lines)]


def notifications(now: float, alert_id: str = "") -> list[dict[str, Any]]:
    """Outbox rows (``Outbox.recent`` with the receiver's type), newest first."""
    rows = [("n3", "ops-webhook", "webhook", "failed", "a1c0ffee", now - 170, 3,
             "HTTP 503 from the receiver", None),
            ("n2", "slack-ops", "slack", "delivered", "a1c0ffee", now - 180, 1, "", now - 179),
            ("n1", "email-dba", "email", "delivered", "b2d15c00", now - 3700, 1, "",
             now - 3698)]
    return [{"id": nid, "receiver": recv, "type": typ, "kind": "alert", "status": status,
             "summary": f"[FIRING] alert {aid}", "created": created, "updated": created + 10,
             "attempts": attempts, "error": error, "delivered_at": delivered,
             "next_at": created}
            for nid, recv, typ, status, aid, created, attempts, error, delivered in rows
            if not alert_id or aid == alert_id]


def incident_state(snapshot: dict[str, Any], silences: list[dict[str, Any]], alert_id: str,
                   now: float) -> dict[str, Any]:
    """What a broker's core thread answers for ``incident`` (broker/api/incident_ops.py)."""
    out: dict[str, Any] = {"alert": None, "host": None, "silences": [], "inhibitions": [],
                           "others": [], "processes": None}
    alert = next((a for a in snapshot["alerts"] if a["id"] == alert_id), None)
    if alert is None:
        return out
    out["alert"] = dict(alert)
    out["silences"] = [dict(s) for s in silences if s["id"] in (alert.get("silenced") or ())]
    out["others"] = [dict(a) for a in snapshot["alerts"]
                     if a["host"] == alert["host"] and a["id"] != alert_id]
    host = next((h for h in snapshot["hosts"] if h["host"] == alert["host"]), None)
    if host is not None:
        out["host"] = {"host": host["host"], "status": host["status"],
                       "last_seen": host["last_seen"]}
        if host["status"] == "up":
            out["processes"] = processes(host["host"], now - 3)
    return out
