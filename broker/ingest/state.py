"""The broker's in-memory state cache (the ETS-like table of DESIGN.md).

Latest value per (host, metric), a bounded history per host for sparklines (flat: see
broker/ingest/history.py), host last-seen, agent identity (agent id, boot id, sequence for gap detection) and hello info.
Owned by the core loop alone: no locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from broker.ingest.history import History

HISTORY_LEN = 120  # samples kept per series: two minutes at the default 1 s interval
SPARK_SERIES = ("cpu.percent", "mem.percent", "swap.percent", "load.1")


def drawn(name: str) -> bool:
    """The series a dashboard draws a sparkline of: the only ones with a history here."""
    return name in SPARK_SERIES or name.startswith(("disk.", "net."))


class LimitExceeded(ValueError):
    """Too many hosts or series: the frame is rejected with this reason."""


@dataclass
class HostRecord:
    host: str
    first_seen: float
    last_seen: float = 0.0
    agent: str = ""
    boot: str = ""
    seq: int = -1
    gaps: int = 0  # frames missed, from seq jumps
    restarts: int = 0  # new boot ids seen
    status: str = "up"
    info: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: History = field(default_factory=lambda: History(HISTORY_LEN, drawn))

    def to_dict(self, history: bool | tuple[str, ...] = SPARK_SERIES) -> dict[str, Any]:
        h = self.history
        if history is True:
            hist = {k: h.series(k) for k in h}
        elif history:
            hist = {k: h.series(k) for k in h if k in history or k.startswith(("disk.", "net."))}
        else:
            hist = {}
        return {"host": self.host, "status": self.status, "last_seen": self.last_seen,
                "first_seen": self.first_seen, "agent": self.agent, "boot": self.boot,
                "seq": self.seq, "gaps": self.gaps, "restarts": self.restarts,
                "info": self.info, "labels": self.labels, "metrics": dict(self.metrics),
                "history": hist}


class State:
    def __init__(self, max_hosts: int = 10_000, max_series_per_host: int = 5_000,
                 history_len: int = HISTORY_LEN) -> None:
        self.hosts: dict[str, HostRecord] = {}
        self.max_hosts = max_hosts
        self.max_series = max_series_per_host
        self.history_len = history_len

    def _host(self, host: str, ts: float) -> tuple[HostRecord, bool]:
        hs = self.hosts.get(host)
        if hs is not None:
            return hs, False
        if len(self.hosts) >= self.max_hosts:
            raise LimitExceeded(f"host limit reached ({self.max_hosts} hosts); '{host}' refused")
        hs = self.hosts[host] = HostRecord(host, first_seen=ts,
                                           history=History(self.history_len, drawn))
        return hs, True

    def check(self, frame: dict[str, Any]) -> None:
        """Raise LimitExceeded before anything is changed if the frame would break a limit."""
        host = frame["host"]
        hs = self.hosts.get(host)
        if hs is None:
            if len(self.hosts) >= self.max_hosts:
                raise LimitExceeded(f"host limit reached ({self.max_hosts} hosts); '{host}' refused")
            known = 0
        else:
            known = len(hs.metrics)
        metrics = frame.get("metrics")
        if metrics and known + len(metrics) > self.max_series:
            new = sum(1 for k in metrics if hs is None or k not in hs.metrics)
            if known + new > self.max_series:
                raise LimitExceeded(f"series limit reached for '{host}' ({self.max_series} series)")

    def touch(self, frame: dict[str, Any]) -> tuple[HostRecord, list[str]]:
        """Record identity and liveness; returns the host and notes (new host, restart, gap)."""
        notes: list[str] = []
        hs, new = self._host(frame["host"], frame["ts"])
        if new:
            notes.append("new")
        agent, boot, seq = frame["agent"], frame["boot"], frame["seq"]
        if hs.boot and boot != hs.boot:
            hs.restarts += 1
            notes.append("restart")
        elif hs.boot and seq > hs.seq + 1:
            hs.gaps += seq - hs.seq - 1
            notes.append("gap")
        hs.agent, hs.boot, hs.seq = agent, boot, max(seq, hs.seq if boot == hs.boot else seq)
        hs.last_seen = max(hs.last_seen, frame["ts"])
        if hs.status != "up":
            hs.status = "up"
            notes.append("up")
        return hs, notes

    def apply_metrics(self, hs: HostRecord, metrics: dict[str, float],
                      labels: dict[str, str] | None) -> None:
        hs.metrics.update(metrics)
        if labels:
            hs.labels.update(labels)
        hs.history.add(metrics)

    def mark_down(self, host: str) -> bool:
        hs = self.hosts.get(host)
        if hs is None or hs.status == "down":
            return False
        hs.status = "down"
        return True

    def snapshot_hosts(self, brief: bool = False, detail: set[str] | None = None
                       ) -> list[dict[str, Any]]:
        """Every host as a dict, by name; ``brief``: without metrics and history, except the
        hosts in ``detail``."""
        out = []
        for name in sorted(self.hosts):
            hs = self.hosts[name]
            if brief and name not in (detail or ()):
                out.append({"host": name, "status": hs.status, "last_seen": hs.last_seen,
                            "info": hs.info, "labels": hs.labels, "metrics": {},
                            "history": {}})
            else:
                out.append(hs.to_dict())
        return out

    def series_count(self) -> int:
        return sum(len(hs.metrics) for hs in self.hosts.values())
