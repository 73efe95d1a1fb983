"""The alert engine: samples and log lines in, alert events out. Pure: no clock, no I/O.

The core loop calls ``on_sample`` for every metrics frame, ``on_log`` for every log line
and ``tick`` once a second, always passing ``now``, and emits the events that come back.
Interface: docs/internals.md, "The alert engine"; behaviour: docs/alerts.md.

The hot path is ``on_sample``; broker/alerting/index.py routes each metric name of a host to
the series (rule x host x metric) it feeds, so a metric no rule reads costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from broker.alerting import internal, persistence
from broker.alerting.alert import FIRING, PENDING, RESOLVED, Alert, fingerprint
from broker.alerting.evaluators import AnomalySeries
from broker.alerting.index import HostSeries, RuleIndex
from broker.alerting.inhibit import InhibitRule, default_inhibits
from broker.alerting.lifecycle import AlertBook
from broker.alerting.rules import Rule, default_rules
from broker.alerting.scenarios import DEFAULT_HOST, SIMULATE_TTL_S, scenario
from broker.alerting.silences import Silence, make_silence
from broker.events import Event, make_event

STALE_AFTER_S = 600.0
RESTART_HOLD_S = 5.0  # after a restore, no new host_down for this long: agents reconnect
STALE_KINDS = ("threshold", "rate", "forecast", "anomaly", "check")


class AlertEngine:
    def __init__(self, rules: list[Rule] | None = None,
                 inhibits: list[InhibitRule] | None = None) -> None:
        self.book = AlertBook()
        self.hosts: dict[str, HostSeries] = {}
        self.rules: list[Rule] = []
        self._grace: list[Any] = []
        self._seeds: dict[tuple[str, str], list[Any]] = {}  # see seed_anomaly
        self.now = 0.0  # the latest ``now`` any call passed: views use it, nothing reads a clock
        self.generation = 0  # bumped by every replace_rules: agents' fast paths re-fetch
        self.hold_until: float | None = None  # set by restore: None = no hold pending
        self.replace_rules(default_rules() if rules is None else rules)
        self.replace_inhibits(default_inhibits() if inhibits is None else inhibits)

    @property
    def inhibits(self) -> list[InhibitRule]:
        return self.book.inhibits

    def replace_inhibits(self, inhibits: list[InhibitRule]) -> None:
        """Swap the inhibition rules; an alert's ``inhibited`` follows at its next view or
        event (``inhibited`` is computed, never stored)."""
        self.book.inhibits = list(inhibits)
        self.book.changed()

    # ------------------------------------------------------------ rules and index

    def replace_rules(self, rules: list[Rule], now: float | None = None) -> list[Event]:
        """Swap the rule set, keeping the state of unchanged rules and the alerts of rules
        that still exist. Returns resolve events for firing alerts whose rule is gone."""
        t = self.now if now is None else now
        self.rules = list(rules)
        self.generation += 1
        self.index = RuleIndex(rules)
        for hs in self.hosts.values():
            self.index.rebuild(hs)
        out: list[Event] = []
        by_name = {r.name: r for r in rules if r.enabled}
        for a in list(self.book.by_id.values()):
            if a.rule.kind == internal.KIND:
                continue  # the broker's own alerts have no rule in the file
            rule = by_name.get(a.rule.name)
            if rule is None:
                if a.active:
                    self.book.resolve(a, t, out, reason="rule removed")
                self.book.by_id.pop(a.id, None)
                continue
            a.rule = rule
            if not a.simulated:
                self.attach(a)
        return out

    def host_series(self, host: str) -> HostSeries:
        """The series of ``host``, created (and indexed against the rules) on first use."""
        hs = self.hosts.get(host)
        if hs is None:
            hs = self.hosts[host] = HostSeries(host)
            hs.labels = dict(self.book.host_labels.get(host) or {})
            self.index.host_series(hs)
        return hs

    def grant_grace(self, series: Iterable[Any]) -> None:
        """Start these series' silence timers at the next tick, not at their last sample."""
        self._grace.extend(series)

    def attach(self, a: Alert) -> None:
        """Link a (restored or re-ruled) alert to the series that drives it."""
        hs = self.host_series(a.host)
        s = self.index.find(hs, a.rule, a.metric)
        if s is None:
            return
        hs.idle = False  # broker/alerting/quiet.py: the next sample is evaluated in full
        s.alert, a.series = a, s
        if a.active:
            s.level, s.value, s.threshold = a.severity, a.value, a.threshold
        if s.last_ts is None:
            self._grace.append(s)

    # ------------------------------------------------------------ input

    def set_origin(self, host: str, agent: str, boot: str, seq: int) -> None:
        """The identity of the sample the next on_sample/on_log call evaluates."""
        self.book.current = self.book.origin[host] = (agent, boot, seq)

    def on_sample(self, host: str, metrics: Mapping[str, float],
                  labels: Mapping[str, str] | None, now: float,
                  alive: bool = True, steady: bool = False,
                  origin: tuple[str, str, int] | None = None) -> list[Event]:
        """``alive=False``: a pushed sample, which is no sign of life of the host's agent;
        ``steady``: every name in ``metrics`` came in a sample of this host before (the
        ingest lane's frames, broker/ingest/lane.py): nothing new to index; ``origin``:
        (agent, boot, seq) of the sample, ``set_origin`` in the same call (the lane's)."""
        if origin is not None:
            self.book.current = self.book.origin[host] = origin
        hs = self.hosts.get(host) or self.host_series(host)
        self.now = now
        out: list[Event] = []
        if alive:
            self._seen(hs, now, out)
        if cores := metrics.get("cpu.count"):
            hs.cpu_count = cores
        if labels and self.book.host_labels.get(host) != labels:
            self.book.host_labels[host] = labels
            self.book.changed()
        if labels and labels != hs.labels:  # rules may select hosts by label: re-route it
            hs.labels = dict(labels)
            self.index.rebuild(hs)
        if not steady and not hs.known.issuperset(metrics):
            new = [n for n in metrics if n not in hs.known]
            self.index.learn(hs, metrics)
            if self._seeds:
                self._apply_seeds(hs, new)
        book, plan = self.book, hs.plan
        if hs.idle and plan.quiet(metrics, hs.cpu_count):  # broker/alerting/quiet.py
            for v, s in zip(map(metrics.get, plan.names), plan.series, strict=True):
                if v is not None and s.observe(v, now, hs) and (
                        s.level is not None or s.alert is not None):
                    book.update(s, now, out)
            book.current = None
            return out
        for name, ss in hs.watched:
            if (v := metrics.get(name)) is None:
                continue
            for s in ss:
                if s.observe(v, now, hs) and (s.level is not None or s.alert is not None):
                    book.update(s, now, out)
        hs.idle = plan.idle()
        book.current = None
        return out

    def on_log(self, host: str, level: str, message: str, source: str,
               now: float) -> list[Event]:
        hs = self.hosts.get(host) or self.host_series(host)
        self.now = now
        out: list[Event] = []
        self._seen(hs, now, out)
        for s, rx, src, lvl in hs.logs:
            if ((src is None or src(source)) and (lvl is None or lvl(level))
                    and rx.search(message) and s.hit(now)):
                self.book.update(s, now, out)
        self.book.current = None
        return out

    def host_stopped(self, host: str, now: float) -> list[Event]:
        """The agent said goodbye: no host_down for it until it sends again."""
        self.now = now
        if (hs := self.hosts.get(host)) is not None:
            hs.stopped = True
        return []

    def knows(self, host: str) -> bool:
        return host in self.hosts

    def forget(self, host: str, now: float, why: str) -> list[Event]:
        """Retire a host: its active alerts resolve (reason ``why``), its series go."""
        self.now = now
        out: list[Event] = []
        for a in [a for a in self.book.by_id.values() if a.host == host]:
            if a.active:
                self.book.resolve(a, now, out, reason=f"host forgotten: {why}")
            self.book.by_id.pop(a.id, None)
        self.hosts.pop(host, None)
        self.book.origin.pop(host, None)
        self.book.host_labels.pop(host, None)
        self.book.down_hosts.pop(host, None)
        self.index.forget(host)
        return out

    def silent_hosts(self, now: float, after: float) -> list[str]:
        return [h for h, hs in self.hosts.items()
                if hs.last_seen is not None and now - hs.last_seen > after]

    def _seen(self, hs: HostSeries, now: float, out: list[Event]) -> None:
        hs.last_seen = now
        hs.stopped = False
        for s in hs.down:
            s.last_ts = now
            a = s.alert
            if a is not None and a.active:
                s.level, s.value = None, 0.0
                self.book.update(s, now, out)

    def tick(self, now: float, seen_by: float | None = None) -> list[Event]:
        """Time-driven work: for, keep_firing_for, absent, host_down, expiries, staleness.
        Silence (absent, host_down, staleness) is judged at ``seen_by``: the last moment
        the broker had read every frame sent to it (broker/ingest/handler.py seen_by)."""
        self.now = now
        judge = now if seen_by is None else seen_by
        out: list[Event] = []
        book = self.book
        if self._grace:
            for s in self._grace:
                s.last_ts = now if s.last_ts is None else s.last_ts
            self._grace = []
        if self.hold_until is not None and self.hold_until < 0:
            self.hold_until = now + RESTART_HOLD_S  # the first tick after a restore
        held = self.hold_until is not None and now < self.hold_until
        for hs in self.hosts.values():
            if hs.last_seen is None:
                hs.last_seen = now
            if hs.stopped:
                continue
            for s in hs.down:
                if s.check(judge):
                    if held and s.level is not None and (s.alert is None or not s.alert.active):
                        continue  # judged by last-seen, but not before agents reconnect
                    book.update(s, now, out)
        for s in self.index.absent:
            if s.check(judge) and not self._host_down_first(s, now):
                book.update(s, now, out)
        for a in list(book.by_id.values()):
            s = a.series
            if s is None or not a.active:
                continue
            if a.rule.kind == "log":
                if s.check(now):
                    book.update(s, now, out)
            elif (a.state == FIRING and a.rule.kind in STALE_KINDS
                  and s.last_ts is not None and judge - s.last_ts >= STALE_AFTER_S):
                s.level = None
                book.resolve(a, now, out, reason="stale: no samples")
        book.tick(now, out)
        for sil in book.silences.expire(now):
            out.append(make_event("unsilence", f"silence {sil.id} expired", ts=now,
                                  data={"silence": sil.to_dict(now), "reason": "expired"}))
        return out

    def _host_down_first(self, s: Any, now: float) -> bool:
        """An absent series whose whole host is silent waits until every host_down rule of
        that host has had its ``for``: then host_down fires first (this same tick) and its
        inhibition applies, so a host going down never pages for each missing metric."""
        if s.alert is not None and s.alert.active:
            return False
        hs = self.hosts.get(s.host)
        if hs is None or hs.last_seen is None or s.last_ts is None or hs.last_seen > s.last_ts:
            return False  # the host still sends other things: the metric alone is absent
        waiting = any(now - hs.last_seen < d.rule.for_ for d in hs.down)
        if waiting:
            s.level = None
        return waiting

    # ------------------------------------------------------------ views and operator actions

    def active_counts(self) -> dict[str, int]:
        """Active (pending or firing) alerts per host: the fleet digest's alerts column."""
        counts: dict[str, int] = {}
        for a in self.book.by_id.values():
            if a.active:
                counts[a.host] = counts.get(a.host, 0) + 1
        return counts

    def alerts(self, now: float | None = None) -> list[dict[str, Any]]:
        """Pending, firing and recently resolved alerts: firing first, critical first."""
        t = self.now if now is None else now
        order = {FIRING: 0, PENDING: 1, RESOLVED: 2}
        items = sorted(self.book.by_id.values(),
                       key=lambda a: (order.get(a.state, 3), a.severity != "critical",
                                      -a.started_at, a.id))
        return [self.book.to_dict(a, t) for a in items]

    def ack(self, alert_id: str, author: str, comment: str = "", sticky: bool = False,
            expires: float | str | None = None, now: float = 0.0) -> list[Event]:
        """Acknowledge a pending/firing alert; ``expires`` is a duration from ``now``
        (seconds or '2h'), None for no expiry. KeyError for an unknown id."""
        self.now = now
        return self.book.ack(alert_id, author, comment, sticky, expires, now)

    def unack(self, alert_id: str, author: str, now: float) -> list[Event]:
        self.now = now
        return self.book.unack(alert_id, author, now)

    def silence(self, matchers: Any, duration: float | str, author: str, comment: str,
                now: float, start: float | None = None, silence_id: str = ""
                ) -> tuple[dict[str, Any], list[Event]]:
        self.now = now
        sil = make_silence(matchers, duration, author, comment, now, start, silence_id)
        return self._add_silence(sil, now)

    def adopt_silence(self, d: Mapping[str, Any], now: float) -> list[Event]:
        """A silence made elsewhere (a peer broker), kept with its id and times."""
        self.now = now
        return self._add_silence(Silence.from_dict(dict(d)), now)[1]

    def _add_silence(self, sil: Silence, now: float) -> tuple[dict[str, Any], list[Event]]:
        author, comment = sil.author, sil.comment
        self.book.silences.add(sil)
        d = sil.to_dict(now)
        hit = [a.id for a in self.book.by_id.values()
               if sil.matches(a.match_labels(self.book.host_labels.get(a.host)))]
        ev = make_event("silence", f"{author or 'someone'} silenced {', '.join(d['matchers'])} "
                        f"for {sil.ends_at - sil.starts_at:.0f}s: {comment}", ts=now,
                        data={"silence": d, "alerts": hit})
        return d, [ev]

    def unsilence(self, silence_id: str, author: str, now: float) -> list[Event]:
        self.now = now
        sil = self.book.silences.remove(silence_id)
        return [make_event("unsilence", f"{author or 'someone'} removed silence {sil.id}",
                           ts=now, data={"silence": sil.to_dict(now), "author": author or ""})]

    def silences(self, now: float | None = None) -> list[dict[str, Any]]:
        return [s.to_dict(self.now if now is None else now) for s in sorted(self.book.silences.by_id.values(),
                                               key=lambda s: s.starts_at)]

    def simulate(self, name: str, host: str | None, now: float) -> list[Event]:
        """Fire a labelled (simulated=true) alert at once; it resolves after SIMULATE_TTL_S."""
        rule, metric, value, threshold, severity = scenario(name, self.rules)
        self.now = now
        host = host or DEFAULT_HOST
        labels = {**rule.labels, "simulated": "true"}
        a = self.book.by_id.get(fingerprint(rule.name, host, metric, labels))
        if a is None:
            a = Alert(rule, host, metric, labels, simulated=True)
        a.value, a.threshold, a.sim_expires = value, threshold, now + SIMULATE_TTL_S
        out = [make_event("simulate", f"simulating {name} on {host} for "
                          f"{SIMULATE_TTL_S:.0f}s", ts=now, host=host, severity=severity,
                          rule=rule.name, alert_id=a.id,
                          data={"scenario": name, "expires": a.sim_expires})]
        if a.state != FIRING:
            self.book.open(a, severity, now, out, immediately=True)
            a.sim_expires = now + SIMULATE_TTL_S
        elif a.severity != severity:
            self.book.escalate(a, severity, now, out)
        return out

    def broker_alert(self, name: str, firing: bool, host: str, detail: str,
                     now: float) -> list[Event]:
        """Raise (``firing``) or clear one of the broker's own alerts (``internal.RULES``)."""
        self.now = now
        rule = internal.rule(name, detail)
        a = self.book.by_id.get(fingerprint(name, host, "", {}))
        out: list[Event] = []
        if firing:
            if a is None or not a.active:
                a = a or Alert(rule, host, "", {})
                a.rule = rule
                self.book.open(a, rule.severity, now, out, immediately=True)
            else:
                a.rule = rule
        elif a is not None and a.active:
            self.book.resolve(a, now, out, reason=detail)
        return out

    def seed_anomaly(self, host: str, metric: str,
                     hours: list[tuple[float, float, float, float, float]]) -> None:
        """Hourly rollups (hour start, min, avg, max, count; oldest first) for the anomaly
        series of ``host``/``metric``: applied when that series has its first sample (and
        learned nothing else yet), so seeding never invents a host. The system passes what
        the store holds at start."""
        if hours:
            self._seeds[(host, metric)] = hours
        hs = self.hosts.get(host)
        if hs is not None and metric in hs.by_metric:
            self._apply_seeds(hs, (metric,))

    def _apply_seeds(self, hs: HostSeries, names: Any) -> None:
        for name in names:
            hours = self._seeds.pop((hs.name, name), None)
            if hours is not None:
                for s in hs.by_metric.get(name, ()):
                    if isinstance(s, AnomalySeries):
                        s.seed(hours)

    def dump_state(self, baselines: bool = True, hosts: bool = True) -> dict[str, Any]:
        """The state to save; without ``baselines`` the anomaly memories are left out,
        without ``hosts`` the per-host part (persistence.dump)."""
        return persistence.dump(self, baselines, hosts)

    def restore_state(self, state: Mapping[str, Any]) -> None:
        persistence.restore(self, state)
