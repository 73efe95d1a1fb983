"""Aggregation groups with Alertmanager's timing, plus acknowledgement and escalation.

A group is (route, receiver, values of the route's ``group_by`` labels). The first alert
of a new group waits ``group_wait`` (0 = notify at once) so alerts that fire together are
sent together; after that the group is looked at every ``group_interval``: it notifies
when an alert started firing or (with ``send_resolved``) a notified alert resolved since
the last notification, or when ``repeat_interval`` has passed since the last one while
something still fires. Silenced, inhibited and flapping alerts are left out of every
message; an acknowledged alert is left out of firing messages (so an ack stops repeats
and escalation) but its resolution is still sent to whoever heard it fire. No I/O here:
the dispatcher turns what this returns into outbox rows.

Ids are deterministic (``note_id``): a hash of receiver, group key (which names the route),
the sorted (fingerprint, episode) pairs, status, kind and a counter of earlier messages with
the same content, so a repeat or an escalation gets its own id and every broker that sees
the same stream makes the same ids. An escalation goes out once per episode and route,
however many receivers the route has (``escalations``). ``dump``/``load`` (group_state.py)
carry the groups across a restart, so a RESOLVED is still sent after one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from broker.notify.base import Notification, alert_labels
from broker.notify.routing import Route, group_key, route_alert


def suppressed(a: dict[str, Any]) -> bool:
    return bool(a.get("silenced")) or bool(a.get("inhibited")) or bool(a.get("flapping"))


def firing(a: dict[str, Any]) -> bool:
    return a.get("state") == "firing"


@dataclass
class Group:
    key: str
    route: Route
    receiver: str
    labels: dict[str, str]
    next_flush: float
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notified: set[str] = field(default_factory=set)  # firing fingerprints last sent
    first_notified: dict[str, float] = field(default_factory=dict)
    escalated: set[str] = field(default_factory=set)
    last_sent: float | None = None
    flushed: bool = False
    counts: dict[str, int] = field(default_factory=dict)  # messages sent per content hash


def note_id(receiver: str, key: str, alerts: list[dict[str, Any]], status: str, kind: str,
            counts: dict[str, int]) -> tuple[str, int]:
    """The deterministic id of the next message with this content (and count it), and
    how many with this content came before it (0 for the first, 1 for a repeat...)."""
    pairs = sorted((str(a.get("id", "")), str(a.get("episode", ""))) for a in alerts)
    base = json.dumps([receiver, key, pairs, status, kind], separators=(",", ":"))
    digest = hashlib.sha256(base.encode()).hexdigest()
    n = counts.get(digest[:16], 0)
    counts[digest[:16]] = n + 1
    return hashlib.sha256(f"{digest}\x1f{n}".encode()).hexdigest()[:32], n


def esc_key(g: Group, a: dict[str, Any]) -> str:
    return f"{g.route.name}\x1f{g.key}\x1f{a.get('id')}\x1f{a.get('episode', '')}"


class Grouper:
    def __init__(self, routes: list[Route], external_url: str = "") -> None:
        self.routes = routes
        self.external_url = external_url
        self.groups: dict[tuple[str, str], Group] = {}
        self.escalations: set[str] = set()  # esc_key of episodes escalated (once per route)

    def replace_routes(self, routes: list[Route], receivers: set[str]) -> None:
        """New routes (reload). Groups of receivers that are gone are dropped; the others
        keep their alerts and timers, and follow the new route of the same position (its
        timers, templates and escalation) when there is one, else finish on the old."""
        self.routes = routes
        for gk, g in list(self.groups.items()):
            if g.receiver not in receivers:
                del self.groups[gk]
                continue
            same = [r for r in routes if r.index == g.route.index and g.receiver in r.receivers]
            if same:
                g.route = same[0]

    # -- input --------------------------------------------------------------------------------
    def update(self, alert: dict[str, Any], now: float) -> list[Notification]:
        """An alert changed (fired, resolved, got acked or silenced...)."""
        fp = str(alert.get("id") or "")
        if not fp:
            return []
        out: list[Notification] = []
        labels = alert_labels(alert)
        targets = [(group_key(r, r.group_labels(labels)), recv, r)
                   for r in route_alert(self.routes, labels) for recv in r.receivers]
        self._forget_elsewhere(fp, {(k, recv) for k, recv, _ in targets})
        for key, recv, route in targets:
            gl = route.group_labels(labels)
            g = self.groups.get((key, recv))
            if g is None:
                if not firing(alert):
                    continue  # nothing was notified, nothing to resolve
                g = Group(key, route, recv, gl, next_flush=now + route.group_wait)
                self.groups[(key, recv)] = g
            g.alerts[fp] = alert
            if route.group_wait == 0 and not g.flushed:
                out += self._flush(g, now)
        return out

    def _forget_elsewhere(self, fp: str, keep: set[tuple[str, str]]) -> None:
        """An alert whose labels changed (e.g. severity) moved to other groups: drop it
        silently from the old ones, so they neither repeat it nor wait for its end."""
        for gk, g in list(self.groups.items()):
            if gk not in keep and fp in g.alerts:
                del g.alerts[fp]
                g.notified.discard(fp)
                g.first_notified.pop(fp, None)
                g.escalated.discard(fp)
                if not g.alerts:
                    del self.groups[gk]

    def unsilence(self, silence_id: str) -> None:
        for g in self.groups.values():
            for fp, a in g.alerts.items():
                if silence_id in (a.get("silenced") or []):
                    g.alerts[fp] = {**a, "silenced": [s for s in a["silenced"]
                                                      if s != silence_id]}

    def set_attr(self, alert_id: str, now: float, **attrs: Any) -> None:
        """Ack/unack or silence without a full alert dict: patch every copy we hold."""
        for g in self.groups.values():
            if alert_id in g.alerts:
                g.alerts[alert_id] = {**g.alerts[alert_id], **attrs}

    # -- timers -------------------------------------------------------------------------------
    def tick(self, now: float) -> list[Notification]:
        out: list[Notification] = []
        for g in list(self.groups.values()):
            if now >= g.next_flush:
                out += self._flush(g, now)
            if g.route.escalate_to and (g.key, g.receiver) in self.groups:
                out += self._escalate(g, now)
        return out

    def next_deadline(self) -> float | None:
        return min((g.next_flush for g in self.groups.values()), default=None)

    # -- internals ----------------------------------------------------------------------------
    def _note(self, g: Group, receiver: str, alerts: list[dict[str, Any]], now: float,
              kind: str = "alert") -> Notification:
        status = "firing" if any(firing(a) for a in alerts) else "resolved"
        nid, repeat = note_id(receiver, g.key, alerts, status, kind, g.counts)
        return Notification(id=nid, receiver=receiver, status=status, repeat=repeat,
                            alerts=alerts, group_key=g.key, group_labels=dict(g.labels),
                            external_url=self.external_url, created_at=now, kind=kind,
                            title_template=g.route.title, body_template=g.route.body)

    def _flush(self, g: Group, now: float) -> list[Notification]:
        r = g.route
        g.next_flush = now + r.group_interval
        if r.muted(now):
            return []  # quiet hours: nothing changes, the first flush after them sends
        g.flushed = True
        out: list[Notification] = []
        live = {fp: a for fp, a in g.alerts.items() if not suppressed(a)}
        fire = [a for a in live.values() if firing(a) and not a.get("acked")]
        fire_fps = {str(a["id"]) for a in fire}
        gone = [a for fp, a in live.items() if not firing(a) and fp in g.notified]
        res = gone if r.send_resolved else []
        repeat = bool(fire) and g.last_sent is not None and now - g.last_sent >= r.repeat_interval
        if (fire_fps - g.notified) or res or repeat:
            out.append(self._note(g, g.receiver, fire + res, now))
            g.last_sent = now
            for fp in fire_fps - g.notified:
                g.first_notified.setdefault(fp, now)
            g.notified |= fire_fps
        ended = [fp for fp, a in g.alerts.items() if not firing(a)]
        esc_res = [g.alerts[fp] for fp in ended if fp in g.escalated and fp in live
                   and esc_key(g, g.alerts[fp]) in self.escalations]
        for a in esc_res:
            self.escalations.discard(esc_key(g, a))  # the first group of the route says it
        if esc_res and r.send_resolved and r.escalate_to:
            out.append(self._note(g, r.escalate_to, esc_res, now, kind="escalation"))
        for fp in ended:
            self.escalations.discard(esc_key(g, g.alerts[fp]))
            g.alerts.pop(fp, None)
            g.notified.discard(fp)
            g.first_notified.pop(fp, None)
            g.escalated.discard(fp)
        if not g.alerts:
            self.groups.pop((g.key, g.receiver), None)
        return out

    def _escalate(self, g: Group, now: float) -> list[Notification]:
        r = g.route
        assert r.escalate_to is not None and r.escalate_after is not None
        if r.muted(now):
            return []
        due = [a for fp, a in g.alerts.items()
               if fp in g.first_notified and fp not in g.escalated and firing(a)
               and not a.get("acked") and not suppressed(a)
               and now - g.first_notified[fp] >= r.escalate_after]
        if not due:
            return []
        g.escalated |= {str(a["id"]) for a in due}
        due = [a for a in due if esc_key(g, a) not in self.escalations]  # another receiver's
        if not due:                                                      # group escalated it
            return []
        self.escalations |= {esc_key(g, a) for a in due}
        return [self._note(g, r.escalate_to, due, now, kind="escalation")]
