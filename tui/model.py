"""Fleet state as the UI sees it: hosts merged by name across brokers, alerts by id.

Pure Python (no Textual): the App feeds it messages and the widgets read it. It records what
changed (``dirty_hosts``, ``alerts_version``...) so widgets repaint only what moved.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core import digest as fleet
from tui.format import SEVERITY_ORDER

HISTORY = 120  # samples kept per series for sparklines (the live window)
DIGEST_HISTORY = 16  # CPU samples kept from the fleet digest (the dashboard's trend column)
DIGEST_METRICS = frozenset(("cpu.percent", "mem.percent", "load.1"))  # what the digest feeds
ACTIVE_STATES = ("pending", "firing")
SHOWN_STATES = (*ACTIVE_STATES, "resolved")  # what the broker's ``alerts`` op lists


@dataclass
class HostView:
    name: str
    status: str = "up"
    last_seen: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # the agent's host labels
    metrics: dict[str, float] = field(default_factory=dict)
    history: dict[str, deque[float]] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    # disk, rx, tx from the fleet digest while this host's metrics are not followed
    figures: dict[str, float] = field(default_factory=dict)
    fed_at: float = -1e9  # time.monotonic() of its last metrics frame
    # busiest disk and net totals, worked out once per metrics frame (a sort reads 10,000)
    derived: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def record(self, metrics: dict[str, float]) -> None:
        self.metrics.update(metrics)
        self.derived = None
        for name, value in metrics.items():
            series = self.history.get(name)
            if series is None or series.maxlen != HISTORY:  # none, or the digest's short one
                series = self.history[name] = deque(series or (), maxlen=HISTORY)
            series.append(value)

    def unfollow(self) -> None:
        """Its metrics are no longer followed (scrolled out of a big fleet's view; the
        digest feeds it now): keep what the digest refreshes (cpu, mem, load, the cpu
        trend's last ``DIGEST_HISTORY``) and drop the rest, which would only go stale. A
        followed host holds every series' 120 samples, 60-80 KB: kept after the view moved
        on, an operator scrolling and sorting 10,000 hosts grew the console 100 -> 170 MB
        in four minutes."""
        trend = self.history.get("cpu.percent")
        self.history = {} if trend is None else {
            "cpu.percent": deque(trend, maxlen=DIGEST_HISTORY)}
        self.metrics = {k: v for k, v in self.metrics.items() if k in DIGEST_METRICS}
        self.derived = None

    # derived columns -------------------------------------------------------
    def busiest_disk(self) -> tuple[str, float | None]:
        if "disk" in self.figures:
            return ("", self.figures["disk"])
        derived = self.derived
        if derived is None:
            derived = self.derived = {}
        elif "disk" in derived:
            return derived["disk"]  # type: ignore[no-any-return]
        best: tuple[str, float | None] = ("", None)
        for name, value in self.metrics.items():
            if name.startswith("disk.") and name.endswith(".percent"):
                if best[1] is None or value > best[1]:
                    best = (name, value)
        derived["disk"] = best
        return best

    def net(self, direction: str) -> float | None:
        if direction in self.figures:
            return self.figures[direction]
        derived = self.derived
        if derived is None:
            derived = self.derived = {}
        elif direction in derived:
            return derived[direction]  # type: ignore[no-any-return]
        total, seen = 0.0, False
        for name, value in self.metrics.items():
            if name.startswith("net.") and name.endswith(f".{direction}_bps") \
                    and not name.startswith("net.lo."):
                total += value
                seen = True
        derived[direction] = total if seen else None
        return total if seen else None

    def net_history(self, direction: str) -> list[float]:
        series = [s for n, s in self.history.items() if n.startswith("net.")
                  and n.endswith(f".{direction}_bps") and not n.startswith("net.lo.")]
        if not series:
            return []
        width = min(len(s) for s in series)
        return [sum(list(s)[-width:][i] for s in series) for i in range(width)]


class FleetModel:
    def __init__(self, max_events: int = 1000) -> None:
        self.hosts: dict[str, HostView] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.alert_sources: dict[str, set[str]] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self.brokers: dict[str, dict[str, Any]] = {}
        self.dirty_hosts: set[str] = set()
        self.hosts_version = 0  # bumps when hosts are added or removed (rows, not cells)
        self.alerts_version = 0
        self.events_version = 0
        self.events_dropped = 0  # not kept under a flood (tui/batch.py); in the broker's store
        self.event_kinds: dict[str, int] = {}  # every event received, kept or not, by kind
        self._host_counts: dict[str, int] = {}
        # per source: (hosts_version, the last digest's names, their HostViews)
        self._digest_views: dict[str, tuple[int, list[str], list[HostView]]] = {}
        self.bad_digests = 0  # digests whose columns did not match their hosts (ignored)
        self._counted_at = -1

    # ---------------------------------------------------------------- apply
    def _host(self, source: str, name: str) -> HostView:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = HostView(name)
            self.hosts_version += 1
        host.sources.add(source)
        return host

    def apply_snapshot(self, source: str, snap: dict[str, Any]) -> None:
        """Replace what ``source`` said before with its snapshot."""
        seen = set()
        brief = bool(snap.get("brief"))
        for h in snap.get("hosts", []):
            host = self._host(source, h["host"])
            seen.add(host.name)
            host.status = h.get("status", "up")
            host.last_seen = max(host.last_seen, float(h.get("last_seen") or 0.0))
            host.info = h.get("info") or host.info
            labels = h.get("labels") or (host.info.get("labels") if isinstance(
                host.info, dict) else None)
            if isinstance(labels, dict):
                host.labels = {str(k): str(v) for k, v in labels.items()}
            history = h.get("history") or {}
            for name, values in history.items():
                host.history[name] = deque(values, maxlen=HISTORY)
            host.metrics.update(h.get("metrics") or {})
            host.derived = None
            # a brief snapshot's hosts without a history (a big fleet's, off screen) start
            # a series for the cpu trend only: a deque is 760 bytes, and a picture of 10,000
            # hosts with a dashboard row's metrics each made 96 MB of them
            seed_all = not brief or bool(history)
            for name, value in (h.get("metrics") or {}).items():
                if name not in history and (seed_all or name in host.history
                                            or name == "cpu.percent"):
                    host.history.setdefault(name, deque(maxlen=HISTORY)).append(value)
            self.dirty_hosts.add(host.name)
        self._drop_unlisted(source, seen)
        alert_ids = set()
        for alert in snap.get("alerts", []):
            alert_ids.add(alert["id"])
            self.apply_alert(source, alert)
        for aid in [a for a, s in self.alert_sources.items() if source in s and a not in alert_ids]:
            self.alert_sources[aid].discard(source)
            if not self.alert_sources[aid]:
                del self.alert_sources[aid]
                self.alerts.pop(aid, None)
        known = {e.get("id") for e in self.events}
        for event in sorted(snap.get("events", []), key=lambda e: e.get("ts", 0.0)):
            if event.get("id") not in known:
                self.events.append(event)
        self.brokers.setdefault(source, {}).update(snap.get("broker") or {})
        self.alerts_version += 1
        self.events_version += 1

    def _drop_unlisted(self, source: str, listed: set[str]) -> None:
        """``source`` has only the hosts of ``listed`` now: the rest leave (with their
        history) unless another broker still has them."""
        for name in [n for n, h in self.hosts.items() if source in h.sources and n not in listed]:
            self._drop(source, name)

    def _drop(self, source: str, name: str) -> None:
        host = self.hosts.get(name)
        if host is not None:
            host.sources.discard(source)
            if not host.sources:
                del self.hosts[name]
                self.hosts_version += 1

    def apply_metrics(self, source: str, name: str, ts: float, metrics: dict[str, float]) -> None:
        host = self._host(source, name)
        host.record(metrics)
        host.fed_at = time.monotonic()
        if host.figures:
            host.figures = {}
        host.last_seen = max(host.last_seen, ts)
        if host.status != "up":
            host.status = "up"
        self.dirty_hosts.add(name)

    def apply_digest(self, source: str, digest: dict[str, Any], fresh_s: float = 2.5) -> bool:
        """The broker's fleet digest: every host's figures, for the hosts whose metrics are
        not followed (outside the view of a big fleet); a host fed metrics in the last
        ``fresh_s`` seconds keeps its own, fuller values.

        Once a second for the whole fleet, on the UI thread: at 10,000 hosts a loop through
        ``_host`` and a dict per column cost 75-170 ms a digest (a key pressed meanwhile
        waited that long). The host objects of the last digest's names are reused, the
        columns are walked together as lists. False (and nothing applied) for a digest
        whose columns do not match its hosts."""
        names, status, ts = digest["hosts"], digest["status"], float(digest["ts"])
        n = len(names)
        nan = float("nan")
        missing = [nan] * n
        figures = digest["figures"]
        cols = {c: fleet.unpack_column(figures[c]).tolist() if c in figures else missing
                for c in ("cpu", "mem", "load", "disk", "rx", "tx", "age")}
        if any(len(col) != n for col in cols.values()) or len(status) != n:
            self.bad_digests += 1
            return False
        views = self._digest_views.get(source)
        if views is None or views[1] != names:  # the broker's hosts changed: it forgot some
            self._drop_unlisted(source, set(names))  # (a view hears few h.<host> frames)
        if views is None or views[0] != self.hosts_version or views[1] != names:
            hosts = [self._host(source, name) for name in names]
            self._digest_views[source] = views = (self.hosts_version, list(names), hosts)
        letters = fleet.LETTER_STATUS
        stale = time.monotonic() - fresh_s
        dirty = self.dirty_hosts
        for host, letter, age, cpu, mem, load, disk, rx, tx in zip(
                views[2], status, cols["age"], cols["cpu"], cols["mem"], cols["load"],
                cols["disk"], cols["rx"], cols["tx"], strict=True):
            state = letters.get(letter)
            if state is not None and state != host.status:
                host.status = state
            if age == age and ts - age > host.last_seen:
                host.last_seen = ts - age
            if host.fed_at > stale:
                continue
            if len(host.history) > 1:  # followed until lately
                host.unfollow()
            m = host.metrics
            if cpu == cpu:
                m["cpu.percent"] = cpu  # and the trend column of a host outside the view
                trend = host.history.get("cpu.percent")
                if trend is None:
                    trend = host.history["cpu.percent"] = deque(maxlen=DIGEST_HISTORY)
                trend.append(cpu)
            if mem == mem:
                m["mem.percent"] = mem
            if load == load:
                m["load.1"] = load
            if disk == disk and rx == rx and tx == tx:
                host.figures = {"disk": disk, "rx": rx, "tx": tx}
            else:
                host.figures = {c: v for c, v in (("disk", disk), ("rx", rx), ("tx", tx))
                                if v == v}
            dirty.add(host.name)
        return True

    def apply_host(self, source: str, name: str, status: str, ts: float,
                   info: dict[str, Any] | None = None) -> None:
        if status == "forgotten":  # retired (monitor-ctl forget, F, host_expire): it goes
            self._drop(source, name)
            return
        host = self._host(source, name)
        if status == "hello":
            host.info = dict(info or {})
            labels = host.info.get("labels")
            if isinstance(labels, dict):
                host.labels = {str(k): str(v) for k, v in labels.items()}
            host.status = "up"
        else:
            host.status = status
        host.last_seen = max(host.last_seen, ts) if status != "down" else host.last_seen
        self.dirty_hosts.add(name)

    def apply_alert(self, source: str, alert: dict[str, Any]) -> bool:
        """Store an alert; True when it is a critical that just started firing.

        An alert that went back to ``inactive`` (pending, then the condition ended before
        ``for:`` passed) is gone from the broker's list: it goes from ours too."""
        aid = alert["id"]
        old = self.alerts.get(aid)
        if alert.get("state") not in SHOWN_STATES:
            if old is not None:
                self.alert_sources.get(aid, set()).discard(source)
                if not self.alert_sources.get(aid):
                    self.alert_sources.pop(aid, None)
                    del self.alerts[aid]
                    self.alerts_version += 1
                    if old.get("host") in self.hosts:
                        self.dirty_hosts.add(old["host"])
            return False
        self.alerts[aid] = alert
        self.alert_sources.setdefault(aid, set()).add(source)
        self.alerts_version += 1
        if alert.get("host") in self.hosts:
            self.dirty_hosts.add(alert["host"])
        was_firing = old is not None and old.get("state") == "firing"
        return (alert.get("severity") == "critical" and alert.get("state") == "firing"
                and not was_firing and not alert.get("silenced"))

    def apply_silence(self, silence_id: str, alert_ids: list[str], active: bool) -> None:
        """A silence was added (over ``alert_ids``) or removed (from every alert)."""
        for alert in self.alerts.values():
            ids = [s for s in alert.get("silenced") or [] if s != silence_id]
            if active and alert["id"] in alert_ids:
                ids.append(silence_id)
            if ids != (alert.get("silenced") or []):
                alert["silenced"] = ids
                self.alerts_version += 1

    def add_events(self, events: Iterable[dict[str, Any]], dropped: int = 0,
                   kinds: dict[str, int] | None = None) -> None:
        """The newest events of a batch, and how many older ones it did not keep."""
        self.events.extend(events)
        self.events_dropped += dropped
        for kind, n in (kinds or {}).items():
            self.event_kinds[kind] = self.event_kinds.get(kind, 0) + n
        self.events_version += 1

    # ---------------------------------------------------------------- queries
    def live_value(self, alert: dict[str, Any]) -> float | None:
        """The latest sample of an active alert's metric on its host (None if unknown):
        the alert's own ``value`` is as of its last transition."""
        if alert.get("state") not in ACTIVE_STATES:
            return None
        host = self.hosts.get(str(alert.get("host", "")))
        if host is None:
            return None
        return host.metrics.get(str(alert.get("metric", "")))

    def take_dirty(self) -> set[str]:
        dirty, self.dirty_hosts = self.dirty_hosts, set()
        return dirty

    def active_alerts(self) -> list[dict[str, Any]]:
        return sorted((a for a in self.alerts.values() if a.get("state") in ACTIVE_STATES),
                      key=alert_sort_key)

    def sorted_alerts(self) -> list[dict[str, Any]]:
        """Active alerts by severity then age, then recently resolved ones."""
        return sorted(self.alerts.values(), key=alert_sort_key)

    def host_alert_count(self, name: str) -> int:
        """Firing alerts of a host (counted once per change of the alerts, not per row)."""
        if self._counted_at != self.alerts_version:
            counts: dict[str, int] = {}
            for a in self.alerts.values():
                if a.get("state") == "firing":
                    counts[a.get("host", "")] = counts.get(a.get("host", ""), 0) + 1
            self._host_counts, self._counted_at = counts, self.alerts_version
        return self._host_counts.get(name, 0)

    def unacked_criticals(self) -> int:
        return sum(1 for a in self.alerts.values() if a.get("severity") == "critical"
                   and a.get("state") == "firing" and not a.get("acked"))

    def counts(self) -> dict[str, int]:
        down = sum(1 for h in self.hosts.values() if h.status == "down")
        unknown = sum(1 for h in self.hosts.values() if h.status == "unknown")  # rewound
        firing = [a for a in self.alerts.values() if a.get("state") == "firing"]
        return {"hosts": len(self.hosts), "up": len(self.hosts) - down - unknown, "down": down,
                "critical": sum(1 for a in firing if a.get("severity") == "critical"),
                "warning": sum(1 for a in firing if a.get("severity") == "warning"),
                "acked": sum(1 for a in firing if a.get("acked"))}

    def ingest_rate(self) -> float | None:
        """Frames per second summed over brokers (``status`` reports ``ingest.rate``)."""
        rates = []
        for status in self.brokers.values():
            ingest = status.get("ingest")
            rate = ingest.get("rate") if isinstance(ingest, dict) else None
            if isinstance(rate, int | float):
                rates.append(rate)
        return sum(rates) if rates else None


    def store_problems(self) -> list[str]:
        """``failing <reason>`` / ``read-only <reason>`` / ``corrupt <reason>`` for each
        broker whose event store is not ``ok`` (``status`` reports ``store.state``): paging
        goes on, the log does not (or, corrupt, needs moving aside)."""
        out = []
        for status in self.brokers.values():
            store = status.get("store")
            if isinstance(store, dict) and store.get("state") not in (None, "ok"):
                out.append(f"{store['state']} {store.get('reason') or ''}".strip())
        return out


def alert_sort_key(alert: dict[str, Any]) -> tuple[int, int, float]:
    resolved = 1 if alert.get("state") not in ACTIVE_STATES else 0
    return (resolved, SEVERITY_ORDER.get(alert.get("severity", ""), 3),
            -float(alert.get("started_at") or 0.0))
