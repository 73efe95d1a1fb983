"""The broker's in-memory state cache (the ETS-like table of DESIGN.md).

Latest value per (host, metric), a bounded history per host for sparklines (flat: see
broker/ingest/history.py), host last-seen, agent identity (agent id, boot id, sequence for
gap detection) and hello info.
Owned by the core loop alone: no locks.

Probation (the name-flood defence): a host the broker has not seen is admitted on its
second frame from the same agent and boot with a higher ``seq``; its first frame is held
(counted, not stored, not evaluated). Probation entries are kept in an LRU of
``max_probation`` names, so a flood of one-frame names (10,000 fake hosts in 6 s) churns the
LRU instead of filling the host cap, and never raises ``host_down``; a real agent, sending
every second, is admitted on its next frame. A host the alert engine already knows
(restored after a restart) skips probation. Admitted hosts count against ``max_hosts``;
past it, new hosts are refused with a counted reason while known hosts keep working.
"""

from __future__ import annotations

import math
import sys
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from broker.events import Event
from broker.ingest.history import History
from broker.layout import names

HISTORY_LEN = 120  # samples kept per series: two minutes at the default 1 s interval
PROC_HISTORY_LEN = 24  # process samples kept per host: two minutes at the default 5 s
PROC_HISTORY_TOP = 5  # processes kept per history sample (the top by CPU)
SPARK_SERIES = ("cpu.percent", "mem.percent", "swap.percent", "load.1")
# A seq jump larger than this either way is no gap (an agent cannot have sent a million
# frames unseen between two of ours): it is counted as a restart and becomes the new base,
# so ``seq = 2**64-1`` can neither add 1.8e19 to the gap count nor disable gap detection.
MAX_SEQ_JUMP = 1_000_000


def shared_info(info: dict[str, Any]) -> dict[str, Any]:
    """A hello's ``info`` with its keys and short text values interned: a fleet's hosts send
    the same keys and mostly the same values (os, release, platform, version, role), and
    each hello unpacks new strings (about 700 of a host's 920 bytes of info, 7 MB at
    10,000 hosts). Made once per changed hello, never per metrics frame."""
    intern = sys.intern
    return {intern(k) if type(k) is str else k:
            intern(v) if type(v) is str and len(v) <= 64 else v for k, v in info.items()}


def drawn(name: str) -> bool:
    """The series a dashboard draws a sparkline of: the only ones with a history here."""
    return name in SPARK_SERIES or name.startswith(("disk.", "net."))


class LimitExceeded(ValueError):
    """Too many hosts or series: the frame is rejected with this reason."""


class Held(Exception):
    """The first frame of a new host: held on probation, neither stored nor rejected."""


@dataclass
class HostRecord:
    host: str
    first_seen: float
    last_seen: float = 0.0
    agent: str = ""
    boot: str = ""
    seq: int = -1
    gaps: int = 0  # frames missed, from seq jumps
    restarts: int = 0  # new boot ids seen (and implausible seq jumps)
    seq_jumps: int = 0  # seq jumps over MAX_SEQ_JUMP, counted as restarts
    dropped: int = 0  # log lines over the host's budget (broker/limits.py)
    pushes: int = 0  # samples pushed through the control API (monitor-ctl push)
    status: str = "up"
    info: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: History = field(default_factory=lambda: History(HISTORY_LEN, drawn))
    processes: list[dict[str, Any]] = field(default_factory=list)
    processes_ts: float = 0.0
    # made with the first process sample: an empty deque costs 760 bytes, on every host
    proc_history: deque[dict[str, Any]] | None = None

    def processes_view(self, history: bool = False) -> dict[str, Any]:
        """The latest top processes (and, with ``history``, the short history)."""
        out: dict[str, Any] = {"processes": self.processes, "processes_ts": self.processes_ts}
        if history:
            out["process_history"] = list(self.proc_history or ())
        return out

    def top_processes(self, n: int = PROC_HISTORY_TOP) -> dict[str, Any] | None:
        """The ``n`` busiest processes of the latest sample (None before any), compact: what
        an alert's opening event keeps, so the incident view shows them at the start."""
        if not self.processes:
            return None
        top = sorted(self.processes, key=lambda p: p.get("cpu_percent", 0.0), reverse=True)[:n]
        return {"ts": self.processes_ts, "top": [
            {k: p[k] for k in ("pid", "name", "user", "cpu_percent", "rss") if k in p}
            for p in top]}

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
                "seq_jumps": self.seq_jumps, "dropped": self.dropped, "pushes": self.pushes,
                "info": self.info, "labels": self.labels, "metrics": dict(self.metrics),
                "history": hist}


class State:
    def __init__(self, max_hosts: int = 10_000, max_series_per_host: int = 5_000,
                 history_len: int = HISTORY_LEN, *, max_series_total: int = 10**9,
                 probation: bool = False, max_probation: int | None = None) -> None:
        self.hosts: dict[str, HostRecord] = {}
        self.max_hosts = max_hosts
        self.max_series = max_series_per_host
        self.max_series_total = max_series_total
        self.history_len = history_len
        self.total_series = 0
        # host -> (agent, boot, seq) of its first frame; None: probation off (tests)
        self.probation: OrderedDict[str, tuple[str, str, int]] | None = (
            OrderedDict() if probation else None)
        # never smaller than a flood's worth of names: a real agent's second frame must
        # arrive before 10,000 newer names push its first out (6 s at 1,600 names/s)
        self.max_probation = max(max_hosts, 10_000) if max_probation is None else max_probation
        self.held = 0  # first frames held on probation
        # hosts known from before (the alert engine's restored state): no probation, so a
        # restarted broker has every host back with its first frame
        self.trusted: Callable[[str], bool] | None = None
        self.evicted = 0  # probation entries pushed out by newer names
        self.version = 0  # bumped when a host is added or forgotten (the digest's names)

    def _host(self, host: str, ts: float) -> tuple[HostRecord, bool]:
        hs = self.hosts.get(host)
        if hs is not None:
            return hs, False
        if len(self.hosts) >= self.max_hosts:
            raise LimitExceeded(f"host limit reached ({self.max_hosts} hosts); '{host}' refused")
        hs = self.hosts[host] = HostRecord(host, first_seen=ts,
                                           history=History(self.history_len, drawn))
        self.version += 1
        return hs, True

    def check(self, frame: dict[str, Any], probation: bool = True) -> None:
        """Raise LimitExceeded before anything is changed if the frame would break a limit,
        Held for the first frame of a host on probation (``probation=False``: a push, which
        comes through the control socket with an operator's rights)."""
        host = frame["host"]
        hs = self.hosts.get(host)
        if hs is None:
            if len(self.hosts) >= self.max_hosts:
                raise LimitExceeded(f"host limit reached ({self.max_hosts} hosts); '{host}' refused")
            if probation:
                self._probation(frame)
            known = 0
        else:
            known = len(hs.metrics)
        metrics = frame.get("metrics")
        if metrics and (known + len(metrics) > self.max_series
                        or self.total_series + len(metrics) > self.max_series_total):
            new = sum(1 for k in metrics if hs is None or k not in hs.metrics)
            if known + new > self.max_series:
                raise LimitExceeded(f"series limit reached for '{host}' ({self.max_series} series)")
            if self.total_series + new > self.max_series_total:
                raise LimitExceeded(f"series limit reached ({self.max_series_total} series in "
                                    f"total); {new} new from '{host}' refused")

    def _probation(self, frame: dict[str, Any]) -> None:
        pool = self.probation
        if pool is None:
            return
        host, ident = frame["host"], (frame["agent"], frame["boot"], frame["seq"])
        if self.trusted is not None and self.trusted(host):
            pool.pop(host, None)
            return
        first = pool.get(host)
        if first is not None and first[:2] == ident[:2] and ident[2] > first[2]:
            del pool[host]  # admitted: the same agent again, further on
            return
        pool[host] = first if first is not None and first[:2] == ident[:2] else ident
        pool.move_to_end(host)
        while len(pool) > self.max_probation:
            pool.popitem(last=False)
            self.evicted += 1
        self.held += 1
        raise Held(host)

    def forget(self, host: str) -> HostRecord | None:
        """Drop a host and its series (``monitor-ctl forget``, host_expire)."""
        hs = self.hosts.pop(host, None)
        if hs is not None:
            self.total_series -= len(hs.metrics)
            self.version += 1
        if self.probation is not None:
            self.probation.pop(host, None)
        return hs

    def touch(self, frame: dict[str, Any]) -> tuple[HostRecord, list[str]]:
        """Record identity and liveness; returns the host and notes (new host, restart, gap)."""
        notes: list[str] = []
        hs, new = self._host(frame["host"], frame["ts"])
        if new:
            notes.append("new")
        agent, boot, seq = frame["agent"], frame["boot"], frame["seq"]
        base = hs.seq
        if hs.boot and boot != hs.boot:
            hs.restarts += 1
            notes.append("restart")
            base = seq
        elif hs.boot and abs(seq - hs.seq) > MAX_SEQ_JUMP:
            hs.restarts += 1
            hs.seq_jumps += 1
            notes.append("restart")
            base = seq
        elif hs.boot and seq > hs.seq + 1:
            hs.gaps += seq - hs.seq - 1
            notes.append("gap")
        hs.agent, hs.boot, hs.seq = agent, boot, max(seq, base)
        hs.last_seen = max(hs.last_seen, frame["ts"])
        if hs.status != "up":
            hs.status = "up"
            notes.append("up")
        return hs, notes

    def touch_push(self, frame: dict[str, Any]) -> tuple[HostRecord, list[str]]:
        """A pushed sample: a new host is created; agent, boot and seq stay as they are
        (a push is no restart and no gap), and an agent's host keeps its own liveness."""
        hs, new = self._host(frame["host"], frame["ts"])
        if not hs.agent:  # a push-only host: its pushes are all we know of it
            hs.last_seen = max(hs.last_seen, frame["ts"])
        hs.pushes += 1
        return hs, ["new"] if new else []

    def apply_metrics(self, hs: HostRecord, metrics: dict[str, float],
                      labels: dict[str, str] | None, ts: float = math.nan) -> None:
        m = hs.metrics
        before = len(m)
        if not before:  # a new host: its names, shared, straight in
            m.update(zip(names(tuple(metrics)), metrics.values(), strict=True))
            self.total_series += len(m)
        else:
            m.update(metrics)
        if len(m) != before and before:  # new names: keep one copy of each for the fleet
            self.total_series += len(m) - before
            kept = list(m.items())
            m.clear()
            m.update(zip(names(tuple(k for k, _ in kept)), (v for _, v in kept), strict=True))
        if labels:
            hs.labels.update(labels)
        hs.history.add(metrics, ts)

    @staticmethod
    def apply_steady(hs: HostRecord, metrics: dict[str, float], ts: float,
                     names: tuple[str, ...]) -> None:
        """``apply_metrics`` for a frame whose ``names`` (the shared tuple of its metric
        names, broker/layout.py) the host sent before, without labels: the steady lane's
        (broker/ingest/lane.py). No new name: the dict only takes the values; the history
        skips its shape check when its last frame had these names."""
        hs.metrics.update(metrics)
        history = hs.history
        if history.seen is names:
            history.add_same(metrics, ts)
        else:
            history.add(metrics, ts)

    @staticmethod
    def apply_processes(hs: HostRecord, procs: list[dict[str, Any]], ts: float) -> None:
        """Keep the latest top processes and a short history (top few by CPU)."""
        hs.processes, hs.processes_ts = procs, ts
        top = sorted(procs, key=lambda p: p["cpu_percent"], reverse=True)[:PROC_HISTORY_TOP]
        if hs.proc_history is None:
            hs.proc_history = deque(maxlen=PROC_HISTORY_LEN)
        hs.proc_history.append({"ts": ts, "top": [
            {k: p[k] for k in ("pid", "name", "cpu_percent", "rss")} for p in top]})

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
        return self.total_series


def stamp_processes(hosts: dict[str, HostRecord], event: Event) -> None:
    """An episode opens: keep the host's top processes of that moment in its event (the
    store keeps them; the incident view shows them as "at the start")."""
    hs = hosts.get(event.get("host") or "")
    top = hs.top_processes() if hs is not None else None
    if top is not None:
        event["data"]["processes"] = top
