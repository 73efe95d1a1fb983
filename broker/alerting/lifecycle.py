"""The alert book: every alert the engine knows, its state machine, acks and the events.

``inactive -> pending -> firing -> resolved`` (and ``pending -> inactive`` when the
condition ends before ``for`` has passed). A firing alert can change severity within its
episode. Every change appends an ``alert`` event to ``out``; ``data`` holds ``change``
(``state``, ``severity`` or ``flapping``), ``from``, ``to``, ``value``, ``threshold``,
``notify`` (False while silenced, inhibited, flapping, acknowledged, or for pending
changes: what notifiers should honour) and ``alert`` (the full alert dict).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from broker.alerting.alert import FIRING, INACTIVE, PENDING, RESOLVED, Alert, episode_id
from broker.alerting.flapping import FlapDetector
from broker.alerting.inhibit import InhibitRule
from broker.alerting.inhibit_index import SourceIndex
from broker.alerting.silences import SilenceSet
from broker.events import Event, make_event
from core.config import ConfigError, parse_duration

RESOLVED_KEEP_S = 900.0
RESOLVED_KEEP_MAX = 1000


class AlertBook:
    def __init__(self) -> None:
        self.by_id: dict[str, Alert] = {}
        self.silences = SilenceSet()
        self.down_hosts: dict[str, int] = {}
        self.host_labels: dict[str, Mapping[str, str]] = {}  # latest frame labels per host
        # (agent, boot, seq) of the sample being evaluated, and of each host's latest one:
        # what an episode id is made of (a tick-driven alert takes its host's latest)
        self.current: tuple[Any, ...] | None = None
        # A paired broker's open episode of the same alert, if it knows one (the cluster
        # sets this): adopting it keeps one episode, so one notification id, per pair.
        self.shared_episode: Callable[[str], str | None] = lambda fingerprint: None
        self.origin: dict[str, tuple[Any, ...]] = {}
        self.inhibits: list[InhibitRule] = []
        self._index: SourceIndex | None = None  # built on demand, see sources()

    def sources(self) -> SourceIndex:
        """The firing alerts that match some inhibit rule's source, indexed
        (broker/alerting/inhibit_index.py); kept up to date as alerts fire, escalate and
        resolve, built again after host labels or inhibit rules change."""
        if self._index is None:
            index = SourceIndex(self.inhibits)
            for a in self.by_id.values():
                if a.state == FIRING:
                    index.add(a.id, a.match_labels(self.host_labels.get(a.host)))
            self._index = index
        return self._index

    def _file(self, a: Alert) -> None:
        """``a`` fired or changed severity: (re)file it among the inhibiting sources."""
        if self._index is not None:
            self._index.add(a.id, a.match_labels(self.host_labels.get(a.host)))

    def changed(self) -> None:
        self._index = None

    # ------------------------------------------------------------ views

    def to_dict(self, a: Alert, now: float) -> dict[str, Any]:
        extra = self.host_labels.get(a.host)
        labels = a.match_labels(extra)
        silenced = self.silences.matching(labels, now) if len(self.silences) else []
        inhibited = False
        if a.active and self.inhibits:
            inhibited = self.sources().inhibited_by(labels, a.id) is not None
        return a.to_dict(silenced, inhibited, extra)

    def get(self, alert_id: str) -> Alert:
        a = self.by_id.get(alert_id)
        if a is None:
            raise KeyError(f"no alert with id '{alert_id}'")
        return a

    # ------------------------------------------------------------ the state machine

    def update(self, s: Any, now: float, out: list[Event]) -> None:
        """Drive the alert of series ``s`` from its latest evaluation (``s.level``)."""
        a: Alert | None = s.alert
        lvl = s.level
        if lvl is not None:
            if a is None:
                a = s.alert = Alert(s.rule, s.host, s.metric, dict(s.rule.labels))
                a.series = s
            a.value, a.threshold, a.updated_at, a.cleared_since = (
                float(s.value), float(s.threshold), now, None)
            if not a.active:
                self.open(a, lvl, now, out)
            elif a.state == PENDING:
                a.severity = lvl
                if now - (a.pending_since or now) >= a.rule.for_:
                    self.fire(a, now, out)
            elif lvl != a.severity:
                self.escalate(a, lvl, now, out)
            return
        if a is None or not a.active:
            return
        a.updated_at = now
        if a.rule.kind not in ("absent", "host_down"):  # keep "sent nothing for 45s", not 0s
            a.value = float(s.value)
        if a.state == PENDING:
            self.drop(a, now, out)
            return
        kff = a.rule.keep_firing_for
        if kff > 0:
            if a.cleared_since is None:
                a.cleared_since = now
            if now - a.cleared_since < kff:
                return
        self.resolve(a, now, out)

    def open(self, a: Alert, severity: str, now: float, out: list[Event],
             immediately: bool = False) -> None:
        """Start a new episode: pending, or firing at once when ``for`` is zero."""
        a.severity, a.started_at, a.updated_at = severity, now, now
        a.resolved_at, a.ack, a.cleared_since = None, None, None
        a.state = INACTIVE
        origin = self.current or self.origin.get(a.host) or ("", "", f"{now:.6f}")
        a.episode = self.shared_episode(a.id) or episode_id(
            a.id, origin if not a.simulated else ("sim", f"{now:.6f}"))
        self.by_id[a.id] = a
        if a.rule.for_ > 0 and not immediately and a.rule.kind not in ("absent", "host_down"):
            a.state, a.pending_since = PENDING, now
            out.append(self.event(a, INACTIVE, PENDING, "state", now))
        else:
            self.fire(a, now, out)

    def fire(self, a: Alert, now: float, out: list[Event]) -> None:
        before = a.state
        a.state, a.pending_since, a.updated_at = FIRING, None, now
        self._file(a)
        if a.rule.kind == "host_down":
            self.down_hosts[a.host] = self.down_hosts.get(a.host, 0) + 1
        out.append(self.event(a, before, FIRING, "state", now))
        self.record_flap(a, now, out)

    def escalate(self, a: Alert, severity: str, now: float, out: list[Event]) -> None:
        before, a.severity = a.severity, severity
        if a.state == FIRING:
            self._file(a)
        if a.ack is not None and not a.ack.get("sticky"):
            a.ack = None
            out.append(self._plain("unack", a, "acknowledgement cleared: severity changed "
                                   f"{before} -> {severity}", now, {"reason": "severity"}))
        out.append(self.event(a, before, severity, "severity", now))

    def drop(self, a: Alert, now: float, out: list[Event]) -> None:
        """pending -> inactive: the condition ended before ``for`` passed."""
        a.state, a.pending_since, a.updated_at = INACTIVE, None, now
        out.append(self.event(a, PENDING, INACTIVE, "state", now))
        self.by_id.pop(a.id, None)

    def resolve(self, a: Alert, now: float, out: list[Event], reason: str = "") -> None:
        if a.state == PENDING:
            self.drop(a, now, out)
            return
        a.state, a.resolved_at, a.updated_at = RESOLVED, now, now
        a.cleared_since, a.ack, a.sim_expires = None, None, None
        if self._index is not None:
            self._index.remove(a.id)
        if a.rule.kind == "host_down":
            n = self.down_hosts.get(a.host, 0) - 1
            if n > 0:
                self.down_hosts[a.host] = n
            else:
                self.down_hosts.pop(a.host, None)
        ev = self.event(a, FIRING, RESOLVED, "state", now)
        if reason:
            ev["data"]["reason"] = reason
        out.append(ev)
        self.record_flap(a, now, out)

    def record_flap(self, a: Alert, now: float, out: list[Event]) -> None:
        f: FlapDetector = a.flap
        if not f.states:
            f.states.append(False)
        if f.record(a.state == FIRING, now, a.rule.flap_start, a.rule.flap_stop):
            was, now_ = ("stable", "flapping") if f.flapping else ("flapping", "stable")
            out.append(self.event(a, was, now_, "flapping", now))

    # ------------------------------------------------------------ acks

    def ack(self, alert_id: str, author: str, comment: str, sticky: bool, expires: Any,
            now: float) -> list[Event]:
        a = self.get(alert_id)
        if not a.active:
            raise ValueError(f"alert '{alert_id}' is {a.state}: only pending or firing "
                             "alerts can be acknowledged")
        until = None
        if expires is not None:  # a duration from now: seconds or '2h'
            try:
                until = now + parse_duration(expires, "ack expiry")
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
            if until <= now:
                raise ValueError("an ack expiry must be a duration above zero, e.g. '2h'")
        a.ack = {"author": author or "", "comment": comment or "", "sticky": bool(sticky),
                 "expires": until, "ts": now}
        return [self._plain("ack", a, f"{author or 'someone'} acknowledged: "
                            f"{a.render(a.rule.summary)}", now, {"ack": dict(a.ack)})]

    def unack(self, alert_id: str, author: str, now: float, reason: str = "") -> list[Event]:
        a = self.get(alert_id)
        if a.ack is None:
            raise ValueError(f"alert '{alert_id}' is not acknowledged")
        a.ack = None
        why = f" ({reason})" if reason else ""
        return [self._plain("unack", a, f"{author or 'someone'} removed the acknowledgement"
                            f"{why}", now, {"author": author or "", "reason": reason})]

    # ------------------------------------------------------------ time

    def tick(self, now: float, out: list[Event]) -> None:
        for a in list(self.by_id.values()):
            st = a.state
            if st == PENDING:
                s = a.series
                if s is not None and s.level is not None and now - (a.pending_since or now) >= a.rule.for_:
                    self.fire(a, now, out)
            elif st == FIRING:
                if a.sim_expires is not None and now >= a.sim_expires:
                    self.resolve(a, now, out, reason="simulation over")
                elif a.cleared_since is not None and now - a.cleared_since >= a.rule.keep_firing_for:
                    self.resolve(a, now, out)
            if a.ack is not None and a.ack["expires"] is not None and now >= a.ack["expires"]:
                out.extend(self.unack(a.id, "", now, reason="expired"))
            if a.flap.states and a.flap.due(now) and a.state != PENDING:
                self.record_flap(a, now, out)
        self.prune(now)

    def prune(self, now: float) -> None:
        done = [a for a in self.by_id.values() if a.state == RESOLVED]
        keep = len(done) - RESOLVED_KEEP_MAX
        if keep > 0:
            done.sort(key=lambda a: a.resolved_at or 0.0)
        for i, a in enumerate(done):
            if i < keep or now - (a.resolved_at or now) >= RESOLVED_KEEP_S:
                del self.by_id[a.id]
                if a.series is not None and a.series.alert is a:
                    a.series.alert = None

    # ------------------------------------------------------------ events

    def event(self, a: Alert, frm: str, to: str, change: str, now: float) -> Event:
        d = self.to_dict(a, now)
        quiet = bool(d["silenced"]) or d["inhibited"] or a.flap.flapping or a.ack is not None
        if change == "state" and to in (PENDING, INACTIVE):
            quiet = True
        if change == "flapping":
            quiet = bool(d["silenced"]) or d["inhibited"]
        if change == "state":
            msg = f"{to}: {d['summary']}"
        else:
            msg = f"{change} {frm} -> {to}: {d['summary']}"
        return make_event("alert", msg, ts=now, host=a.host, severity=a.severity,
                          rule=a.rule.name, alert_id=a.id,
                          data={"change": change, "from": frm, "to": to, "value": a.value,
                                "threshold": a.threshold, "notify": not quiet, "alert": d})

    def _plain(self, kind: str, a: Alert, msg: str, now: float, data: dict[str, Any]) -> Event:
        data["alert"] = self.to_dict(a, now)
        return make_event(kind, msg, ts=now, host=a.host, severity=a.severity,
                          rule=a.rule.name, alert_id=a.id, data=data)
