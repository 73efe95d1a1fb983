"""What one broker sent within a frame interval, coalesced: the unit that crosses from the
session thread into the UI (tui/sources/coalesce.py builds it, ``apply`` applies it).

A flood (a fleet's host.down/host.up storm, thousands of events a second) used to cross as
one Textual message per frame; the UI thread spent its time dispatching them and a key
waited behind the queue. A batch carries, per interval:

- metrics merged per host (the newest value of each series);
- host changes (up, down, hello, forgotten) per host, kept in order with that host's
  metrics: the changes before its metrics and those after (a metrics frame marks a host up,
  so a down after it must be applied after it);
- alerts by id, the last state of each (an ack or unack event carries the alert too);
- silences added or removed, in order;
- the newest ``KEEP_EVENTS`` events (what the event tail can show); older ones of the
  interval are dropped from the UI only, and counted (``dropped``; they stay in the
  broker's store, and the event log's search finds them); ``kinds`` counts every event by
  kind, shown or not.

Pure Python: no Textual, no sockets.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.model import FleetModel

KEEP_EVENTS = 200  # the event tail's rows (tui/screens/events.py TAIL_ROWS)
MAX_CHANGES = 4  # host changes kept per host and interval before they are collapsed

HostChange = tuple[str, float, dict[str, Any]]  # status, ts, hello info


class Batch:
    __slots__ = ("alerts", "dropped", "events", "hosts_first", "hosts_last", "kinds",
                 "metrics", "silences")

    def __init__(self) -> None:
        self.hosts_first: dict[str, list[HostChange]] = {}
        self.metrics: dict[str, tuple[float, dict[str, float]]] = {}
        self.hosts_last: dict[str, list[HostChange]] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.silences: list[tuple[str, list[str], bool]] = []
        self.events: deque[dict[str, Any]] = deque(maxlen=KEEP_EVENTS)
        self.dropped = 0
        self.kinds: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.metrics or self.hosts_first or self.hosts_last or self.alerts
                    or self.silences or self.events or self.dropped)

    # ---------------------------------------------------------------- add (worker side)
    def add_metrics(self, host: str, ts: float, metrics: dict[str, float]) -> None:
        later = self.hosts_last.pop(host, None)
        if later:  # changes that came between two metrics frames: before the merged one
            self._changes(self.hosts_first, host).extend(later)
        old = self.metrics.get(host)
        self.metrics[host] = (ts, metrics) if old is None else (ts, {**old[1], **metrics})

    def add_host(self, host: str, status: str, ts: float, info: dict[str, Any]) -> None:
        into = self.hosts_last if host in self.metrics else self.hosts_first
        changes = self._changes(into, host)
        changes.append((status, ts, info))
        if len(changes) > MAX_CHANGES:  # a flapping host: its last hello and where it is now
            hello = next((c for c in reversed(changes[:-1]) if c[0] == "hello"), None)
            changes[:] = [hello, changes[-1]] if hello is not None else [changes[-1]]

    def add_alert(self, alert: dict[str, Any]) -> None:
        aid = alert.get("id")
        if isinstance(aid, str) and aid:
            self.alerts.pop(aid, None)  # in the order of their last change
            self.alerts[aid] = alert

    def add_event(self, event: dict[str, Any]) -> None:
        kind = str(event.get("kind", ""))
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        data = event.get("data")
        if isinstance(data, dict):
            alert = data.get("alert")
            if isinstance(alert, dict) and alert.get("id"):
                self.add_alert(alert)  # ack/unack carry the alert as it is now
            elif kind in ("silence", "unsilence"):
                silence = data.get("silence")
                if isinstance(silence, dict) and silence.get("id"):
                    alerts = data.get("alerts")
                    self.silences.append((str(silence["id"]), list(alerts) if isinstance(
                        alerts, list) else [], kind == "silence"))
        if kind == "host.forgotten" and event.get("host"):  # a view follows few h.<host>
            self.add_host(str(event["host"]), "forgotten", float(event.get("ts") or 0.0), {})
        self._keep(event)

    def _keep(self, event: dict[str, Any]) -> None:
        if len(self.events) == KEEP_EVENTS:
            self.dropped += 1
        self.events.append(event)

    @staticmethod
    def _changes(into: dict[str, list[HostChange]], host: str) -> list[HostChange]:
        changes = into.get(host)
        if changes is None:
            changes = into[host] = []
        return changes

    def extend(self, later: Batch) -> None:
        """Add ``later`` (what came after this batch) to it: a batch still waiting in the
        UI's queue takes in the next one, so a slow UI catches up in one pass."""
        for host, changes in later.hosts_first.items():
            for change in changes:
                self.add_host(host, *change)
        for host, (ts, metrics) in later.metrics.items():
            self.add_metrics(host, ts, metrics)
        for host, changes in later.hosts_last.items():
            for change in changes:
                self.add_host(host, *change)
        for alert in later.alerts.values():
            self.add_alert(alert)
        self.silences.extend(later.silences)
        for event in later.events:
            self._keep(event)
        self.dropped += later.dropped
        for kind, n in later.kinds.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + n


def apply(model: FleetModel, source: str, batch: Batch) -> list[dict[str, Any]]:
    """Apply ``batch`` from ``source`` to ``model`` in one pass; returns the critical alerts
    that just started firing (the app toasts them)."""
    for host, changes in batch.hosts_first.items():
        for status, ts, info in changes:
            model.apply_host(source, host, status, ts, info)
    apply_metrics = model.apply_metrics
    for host, (ts, metrics) in batch.metrics.items():
        apply_metrics(source, host, ts, metrics)
    for host, changes in batch.hosts_last.items():
        for status, ts, info in changes:
            model.apply_host(source, host, status, ts, info)
    new = [alert for alert in batch.alerts.values() if model.apply_alert(source, alert)]
    for silence_id, alert_ids, active in batch.silences:
        model.apply_silence(silence_id, alert_ids, active)
    if batch.events or batch.dropped:
        model.add_events(batch.events, batch.dropped, batch.kinds)
    return new
