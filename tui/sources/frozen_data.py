"""A fixed, plausible fleet at a frozen instant: the data of snapshots and screenshots.

Everything is computed from fixed seeds, so two runs give byte-identical screens.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from core.matchers import Matcher

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC

# name, base cpu, mem, disk, swap, status
HOSTS: list[tuple[str, float, float, float, float, str]] = [
    ("web-1", 34, 61, 42, 0, "up"), ("web-2", 97, 72, 44, 3, "up"),
    ("web-3", 28, 58, 41, 0, "up"), ("web-4", 41, 64, 43, 0, "up"),
    ("api-1", 55, 70, 38, 1, "up"), ("api-2", 49, 68, 37, 1, "up"),
    ("db-1", 63, 81, 96, 12, "up"), ("db-2", 22, 79, 71, 9, "up"),
    ("cache-1", 18, 88, 22, 0, "up"), ("queue-1", 12, 45, 33, 0, "up"),
    ("worker-1", 76, 52, 28, 0, "up"), ("worker-2", 83, 57, 29, 0, "up"),
    ("worker-3", 71, 91, 31, 64, "up"), ("batch-1", 4, 33, 58, 0, "down"),
]


def _series(seed: str, base: float, n: int, spread: float, lo: float = 0.0,
            hi: float = 100.0) -> list[float]:
    rnd = random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))
    out, v = [], base
    for i in range(n):
        v = base + spread * math.sin(i / 7.0 + rnd.random()) + rnd.uniform(-spread, spread) / 2
        out.append(round(min(hi, max(lo, v)), 1))
    out[-1] = round(base, 1)
    return out
NAMES = frozenset(h[0] for h in HOSTS)

LONG_DAYS = 30  # the frozen fleet's hourly past (30 d: the longest chart range)


def long_rollups(name: str, metric: str, values: list[float], now: float
                 ) -> list[tuple[int, int, float, float, float, int]]:
    """Rollup rows (step, ts, min, max, sum, count) before the frozen hour: hourly for 30
    days and every 10th minute over the last 2 days (the minute rollups' reach), with a
    daily swing; fixed seeds. Written straight to the store's rollup table: folding this
    many samples one by one took seconds."""
    if not values:
        return []
    rnd = random.Random(int(hashlib.sha256((name + metric).encode()).hexdigest()[:8], 16))
    base = sum(values) / len(values)
    swing = max(max(values) - min(values), abs(base) * 0.05, 0.5) / 2
    hi = 100.0 if metric.endswith("percent") else math.inf
    start = int(now - len(values) * 60.0) // 3600 * 3600  # before the frozen hour's samples
    rows = []
    for step, first, count in ((3600, start - LONG_DAYS * 86400, LONG_DAYS * 24),
                               (600, start - 2 * 86400, 2 * 144)):
        for i in range(count):
            t = first + i * step
            day = math.sin(2 * math.pi * ((t % 86400) / 86400 - 0.3))
            week = math.sin(2 * math.pi * t / (9 * 86400))
            mid = base + swing * (0.9 * week + 0.35 * day)
            a = round(min(hi, max(0.0, mid + swing * (rnd.random() - 0.5))), 2)
            b = round(min(hi, max(0.0, mid + swing * (rnd.random() - 0.5))), 2)
            rows.append((60 if step == 600 else 3600, t, min(a, b), max(a, b), a + b, 2))
    return rows


def snapshot(now: float = NOW, n_extra: int = 0) -> dict[str, Any]:
    """The control ``snapshot`` result for the frozen fleet (plus ``n_extra`` generated hosts)."""
    rows = list(HOSTS) + [(f"node-{i:04d}", 20 + (i * 37) % 60, 30 + (i * 13) % 55,
                           20 + (i * 7) % 60, 0, "up") for i in range(n_extra)]
    hosts: list[dict[str, Any]] = []
    for idx, (name, cpu, mem, disk, swap, status) in enumerate(rows):
        history = {
            "cpu.percent": _series(name + "cpu", cpu, 60, 8),
            "mem.percent": _series(name + "mem", mem, 60, 2),
            "swap.percent": _series(name + "swap", swap, 60, 1),
            "disk./.percent": _series(name + "disk", disk, 60, 0.3),
            "net.eth0.rx_bps": _series(name + "rx", 2.4e6 + idx * 3.1e5, 60, 8e5, hi=1e12),
            "net.eth0.tx_bps": _series(name + "tx", 9.0e5 + idx * 1.7e5, 60, 3e5, hi=1e12),
            "load.1": _series(name + "load", cpu / 25, 60, 0.4, hi=64),
        }
        metrics = {k: v[-1] for k, v in history.items()}
        metrics.update({"cpu.count": 8.0, "load.5": round(cpu / 27, 2),
                        "load.15": round(cpu / 30, 2), "proc.count": 180.0 + idx * 7,
                        "uptime": 86400.0 * (3 + idx)})
        if name.startswith("db"):
            metrics["disk./var/lib.percent"] = round(disk - 20, 1)
        last_seen = now - (1.0 if status == "up" else 754.0)
        hosts.append({"host": name, "status": status, "last_seen": last_seen, "metrics": metrics,
                      "history": history,
                      "info": {"os": "Linux 6.8", "cores": 8, "mem_total": 32 * 2**30,
                               "agent_version": "0.1.0"}})
    alerts = [
        alert("a1c0ffee", "high_cpu_usage", "web-2", "critical", "cpu.percent", 97.0, 95.0,
              now - 184),
        alert("b2d15c00", "disk_almost_full", "db-1", "critical", "disk./.percent", 96.0, 95.0,
              now - 3720, acked=True),
        alert("c3f1a900", "host_down", "batch-1", "critical", "up", 0.0, 0.0, now - 750),
        alert("d4e2b100", "high_memory_usage", "worker-3", "warning", "mem.percent", 91.0, 85.0,
              now - 1260, silenced=["s1"]),
        alert("e5a3c200", "swap_in_use", "worker-3", "warning", "swap.percent", 64.0, 50.0,
              now - 905),
        alert("f6b4d300", "high_memory_usage", "cache-1", "warning", "mem.percent", 88.0, 85.0,
              now - 95, flapping=True),
        alert("a7c5e400", "cpu_busy", "worker-2", "warning", "cpu.percent", 83.0, 80.0,
              now - 40, state="pending"),
        alert("b8d6f500", "cpu_busy", "api-1", "warning", "cpu.percent", 71.0, 80.0,
              now - 2400, state="resolved", resolved_at=now - 600),
    ]
    events = []
    for i, a in enumerate(alerts):
        events.append(event("alert", f"{a['rule']} on {a['host']}: {a['state']}",
                            a["started_at"], host=a["host"], rule=a["rule"], alert_id=a["id"],
                            severity=a["severity"], eid=f"ev{i:03d}a",
                            data={"from": "inactive", "to": a["state"], "value": a["value"],
                                  "threshold": a["threshold"]}))
    events += [
        event("ack", "disk_almost_full on db-1 acknowledged by ana: rotating logs", now - 3000,
              host="db-1", rule="disk_almost_full", alert_id="b2d15c00", eid="ev100"),
        event("silence", "silenced host=worker-3 rule=high_memory_usage for 2h by bo",
              now - 1200, host="worker-3", eid="ev101"),
        event("host.down", "batch-1 stopped reporting (no data for 60 s)", now - 754,
              host="batch-1", severity="warning", eid="ev102"),
        event("log", "nginx: upstream timed out (110: Connection timed out)", now - 150,
              host="web-2", severity="warning", eid="ev103"),
        event("log", "postgres: checkpoint complete: wrote 8123 buffers", now - 420,
              host="db-1", eid="ev104"),
        event("notify.sent", "slack #ops: high_cpu_usage on web-2", now - 180, host="web-2",
              rule="high_cpu_usage", alert_id="a1c0ffee", eid="ev105"),
        event("host.hello", "web-4 agent 0.1.0 on Linux 6.8 (8 cores)", now - 5400,
              host="web-4", eid="ev106"),
        event("broker.start", "broker started (3 rules, 14 hosts known)", now - 7200, eid="ev107"),
        event("ingest.rejected", "frame from 10.0.3.7 rejected: timestamp 412 s from now",
              now - 66, severity="warning", eid="ev108"),
        event("alert", "cpu_busy on api-1: resolved", now - 600, host="api-1",
              rule="cpu_busy", alert_id="b8d6f500", eid="ev109"),
    ]
    broker = {"version": 1, "uptime": 7200.0, "pseq": 1000, "hosts": len(hosts),
              "hosts_up": len(hosts) - 1, "series": sum(len(h["metrics"]) for h in hosts),
              "alerts": len(alerts), "alerting": True,
              "endpoints": {"ingest": "tcp://127.0.0.1:5555", "publish": "tcp://127.0.0.1:5556",
                            "control": "tcp://127.0.0.1:5557"},
              "ingest": {"frames": 100_800, "rate": 14.0 + n_extra, "rejected": 3,
                         "rejected_by_reason": {"timestamp too far from now": 3},
                         "held_on_probation": 0, "log_lines_dropped": 0, "probation": 0,
                         "probation_evicted": 0, "gaps": 0, "behind_s": 0.0},
              "limits": {"max_hosts": 10_000, "max_series": 2_000_000,
                         "max_series_per_host": 2_000, "memory_at_caps_mb": 1_500},
              "notify": None,
              "security": {"mode": "open", "refused": 0, "refused_by_reason": {}},
              "store": {}, "bus": {}, "supervisor": [], "control": {}}
    return {"pseq": 1000, "nseq": 1000, "brief": False, "ts": now, "broker": broker,
            "hosts": hosts, "alerts": alerts,
            "events": sorted(events, key=lambda e: e["ts"]),
            "silences": [{"id": "s1", "matchers": ["host=worker-3", "rule=high_memory_usage"],
                          "starts_at": now - 1200, "ends_at": now + 6000, "author": "bo",
                          "comment": "known leak", "created_at": now - 1200,
                          "state": "active"}]}


def alert(aid: str, rule: str, host: str, severity: str, metric: str, value: float,
          threshold: float, started_at: float, *, state: str = "firing", acked: bool = False,
          silenced: list[str] | None = None, flapping: bool = False,
          resolved_at: float | None = None, simulated: bool = False) -> dict[str, Any]:
    return {"id": aid, "rule": rule, "host": host, "labels": {}, "severity": severity,
            "state": state, "acked": acked,
            "ack": {"author": "ana", "comment": "rotating logs", "sticky": False,
                    "expires": None, "ts": started_at + 720} if acked else None,
            "silenced": list(silenced or []), "inhibited": False, "flapping": flapping,
            "value": value, "threshold": threshold, "metric": metric,
            "summary": f"{rule.replace('_', ' ')} on {host}",
            "description": f"{metric} is {value:g} (threshold {threshold:g})",
            "started_at": started_at, "updated_at": started_at, "resolved_at": resolved_at,
            "simulated": simulated, "kind": "host_down" if rule == "host_down" else "threshold",
            "op": ">", "runbook_url": "",
            "episode": hashlib.sha256(f"{aid}{started_at}".encode()).hexdigest()[:16]}


def event(kind: str, message: str, ts: float, *, host: str = "", severity: str = "info",
          rule: str = "", alert_id: str = "", eid: str | None = None,
          data: dict[str, Any] | None = None) -> dict[str, Any]:
    eid = eid or hashlib.sha1(f"{kind}{message}{ts}".encode()).hexdigest()[:16]
    return {"id": eid, "ts": ts, "kind": kind, "host": host, "severity": severity, "rule": rule,
            "alert_id": alert_id, "message": message, "data": data or {}}


def matches(alert: dict[str, Any], matchers: list[Matcher]) -> bool:
    """Whether a silence with ``matchers`` covers ``alert`` (the labels the engine matches:
    the alert's own labels plus host, rule, alertname, severity and state)."""
    labels = {**{k: str(v) for k, v in (alert.get("labels") or {}).items()},
              "host": str(alert.get("host", "")), "rule": str(alert.get("rule", "")),
              "alertname": str(alert.get("rule", "")),
              "severity": str(alert.get("severity", "")), "state": str(alert.get("state", ""))}
    return all(m.matches(labels) for m in matchers)
