"""The frozen fleet's past: four hours of minute samples and an incident, for rewind.

Two hours and fourteen minutes before the frozen instant (``INCIDENT_AGO``), db-1's CPU is
pinned (``high_cpu_usage`` firing, acked by ana four minutes later), api-1 and api-2 are busy
(``cpu_busy``), web-3 has stopped reporting (``host_down``), worker-3's memory is climbing
(``high_memory_usage`` pending) and queue-1 did not exist yet. Everything resolves before
the last hour, whose samples are the frozen snapshot's own history (tui/sources/frozen_data).
The samples go into the fixture store through ``Store.record_metrics`` and the events
through ``Store.put``, so episodes and rollups are the broker's own.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from tui.sources import frozen_data

INCIDENT_AGO = 2 * 3600 + 14 * 60
START_AGO, END_AGO = 4 * 3600, 3660  # the samples here; the last hour is the snapshot's
MIN = 60


def since(now: float) -> int:
    """The hour the incident's samples begin in: the long past (frozen_data.long_rollups)
    stops there, so the two never fold into the same bucket."""
    return int(now - START_AGO) // 3600 * 3600


def _noise(seed: str) -> random.Random:
    return random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))


def _shape(name: str, ago: int) -> dict[str, float]:
    """What the incident does to a host's figures ``ago`` seconds before the instant."""
    m = ago / MIN  # minutes before now
    out: dict[str, float] = {}
    if name == "db-1" and 112 <= m <= 141:
        out["cpu.percent"] = 97.5 + (m % 3) * 0.6
        out.update({"load.1": 11.8, "load.5": 9.6, "load.15": 6.1})
    if name in ("api-1", "api-2") and 115 <= m <= 138:
        out["cpu.percent"] = 84.0 + (m % 4)
    if name == "worker-3" and 128 <= m <= 136:
        out["mem.percent"] = 89.0 + (136 - m) * 0.2
    return out


def samples(now: float) -> list[tuple[str, dict[str, float], float]]:
    """(host, metrics, ts) a minute apart from START_AGO to END_AGO before ``now``."""
    out = []
    for idx, (name, cpu, mem, disk, swap, _status) in enumerate(frozen_data.HOSTS):
        rnd = _noise(name + "past")
        for ago in range(START_AGO, END_AGO - 1, -MIN):
            minutes = ago / MIN
            if name == "web-3" and 125 <= minutes <= 135:
                continue  # stopped reporting
            if name == "queue-1" and minutes > 100:
                continue  # not installed yet
            wave = math.sin(minutes / 9.0 + idx)
            metrics = {
                "cpu.percent": round(min(99.0, max(1.0, cpu * 0.8 + 6 * wave
                                                   + rnd.uniform(-3, 3))), 1),
                "mem.percent": round(mem - 2 + wave, 1),
                "swap.percent": float(swap),
                "disk./.percent": round(disk - 0.5 + minutes / 600, 1),
                "net.eth0.rx_bps": 2.1e6 + idx * 3.1e5 + 4e5 * wave,
                "net.eth0.tx_bps": 8.0e5 + idx * 1.7e5 + 2e5 * wave,
                "load.1": round(max(0.1, cpu / 30 + wave * 0.3), 2),
                "load.5": round(cpu / 31, 2), "load.15": round(cpu / 33, 2), "cpu.count": 8.0,
            }
            metrics.update(_shape(name, ago))
            out.append((name, metrics, now - ago))
    return out


def _transition(aid: str, rule: str, host: str, severity: str, metric: str, value: float,
                threshold: float, started: float, ts: float, frm: str, to: str, *,
                acked: bool = False, resolved: float | None = None,
                ack: dict[str, Any] | None = None) -> dict[str, Any]:
    alert = frozen_data.alert(aid, rule, host, severity, metric, value, threshold, started,
                              state=to, acked=acked, resolved_at=resolved)
    alert["updated_at"] = ts
    if ack is not None:
        alert["ack"] = ack
    return frozen_data.event("alert", f"{rule} on {host}: {frm} -> {to}", ts, host=host,
                             severity=severity, rule=rule, alert_id=aid,
                             eid=hashlib.sha1(f"{aid}{ts}{to}".encode()).hexdigest()[:16],
                             data={"change": to, "from": frm, "to": to, "value": value,
                                   "threshold": threshold, "notify": True, "alert": alert})


def events(now: float) -> list[dict[str, Any]]:
    """The incident's alert transitions, ack and host events, as the broker stores them."""
    t = now - INCIDENT_AGO
    m = MIN
    db_ack = {"author": "ana", "comment": "failover to db-2 in progress", "sticky": True,
              "expires": None, "ts": t + 4 * m}
    out = [
        # db-1: pending 2 min before T, firing from 1 min before, acked 4 min after
        _transition("9a1d0b01", "high_cpu_usage", "db-1", "critical", "cpu.percent", 97.6,
                    95.0, t - 3 * m, t - 3 * m, "inactive", "pending"),
        _transition("9a1d0b01", "high_cpu_usage", "db-1", "critical", "cpu.percent", 98.2,
                    95.0, t - 3 * m, t - 1 * m, "pending", "firing"),
        _transition("9a1d0b02", "cpu_busy", "api-1", "warning", "cpu.percent", 85.0, 80.0,
                    t - 4 * m, t - 2 * m, "pending", "firing"),
        _transition("9a1d0b03", "cpu_busy", "api-2", "warning", "cpu.percent", 86.0, 80.0,
                    t - 3 * m, t - 90, "pending", "firing"),
        _transition("9a1d0b04", "host_down", "web-3", "critical", "up", 0.0, 0.0,
                    t - 60, t - 60, "inactive", "firing"),
        _transition("9a1d0b05", "high_memory_usage", "worker-3", "warning", "mem.percent",
                    89.4, 85.0, t - 50, t - 50, "inactive", "pending"),
        frozen_data.event("host.down", "web-3 stopped reporting (no data for 60 s)", t - 60,
                          host="web-3", severity="warning", eid="past-web3-down"),
        frozen_data.event("notify.sent", "slack #ops: high_cpu_usage on db-1", t - 50,
                          host="db-1", rule="high_cpu_usage", alert_id="9a1d0b01",
                          eid="past-notify-db1"),
        _transition("9a1d0b05", "high_memory_usage", "worker-3", "warning", "mem.percent",
                    87.0, 85.0, t - 50, t + 3 * m, "pending", "inactive"),
    ]
    ack_alert = frozen_data.alert("9a1d0b01", "high_cpu_usage", "db-1", "critical",
                                  "cpu.percent", 98.2, 95.0, t - 3 * m, acked=True)
    ack_alert["ack"] = db_ack
    out.append(frozen_data.event("ack", "high_cpu_usage on db-1 acknowledged by ana: "
                                 "failover to db-2 in progress", t + 4 * m, host="db-1",
                                 rule="high_cpu_usage", alert_id="9a1d0b01",
                                 severity="critical", eid="past-ack-db1",
                                 data={"author": "ana", "comment": db_ack["comment"],
                                       "alert": ack_alert}))
    out += [
        _transition("9a1d0b04", "host_down", "web-3", "critical", "up", 1.0, 0.0, t - 60,
                    t + 10 * m, "firing", "resolved", resolved=t + 10 * m),
        _transition("9a1d0b02", "cpu_busy", "api-1", "warning", "cpu.percent", 71.0, 80.0,
                    t - 4 * m, t + 19 * m, "firing", "resolved", resolved=t + 19 * m),
        _transition("9a1d0b03", "cpu_busy", "api-2", "warning", "cpu.percent", 70.0, 80.0,
                    t - 3 * m, t + 20 * m, "firing", "resolved", resolved=t + 20 * m),
        _transition("9a1d0b01", "high_cpu_usage", "db-1", "critical", "cpu.percent", 62.0,
                    95.0, t - 3 * m, t + 22 * m, "firing", "resolved", acked=True,
                    resolved=t + 22 * m, ack=db_ack),
    ]
    return out
