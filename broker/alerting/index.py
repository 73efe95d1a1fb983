"""Per-host routing of samples to series: which (rule x host x metric) a metric name feeds.

Each host keeps a dict from metric name to the tuple of series that name feeds, built the
first time the host sends the name, plus ``watched``, the names some rule reads. A sample
costs one C-level ``known.issuperset(metrics)`` check, then a lookup per watched name: a
metric no rule reads costs nothing, whatever the number of rules or globs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from broker.alerting.evaluators import SERIES, AbsentSeries, HostDownSeries, LogSeries, Series
from broker.alerting.globs import compile_glob, compile_globs
from broker.alerting.loglevels import level_matcher
from broker.alerting.quiet import EMPTY_PLAN, QuietPlan
from broker.alerting.rules import Rule
from broker.layout import name_set, remember
from core.matchers import Matcher
from core.regex import Pattern, compile_user

METRIC_KINDS = ("threshold", "rate", "forecast", "anomaly", "absent", "check")
_NONE: tuple[Series, ...] = ()


class HostSeries:
    __slots__ = ("name", "labels", "last_seen", "cpu_count", "by_metric", "known", "watched",
                 "down", "logs", "stopped", "plan", "idle")

    def __init__(self, name: str) -> None:
        self.name = name
        self.labels: dict[str, str] = {}  # the host's labels (agent [agent] labels, --label)
        self.last_seen: float | None = None
        self.cpu_count = 0.0
        self.by_metric: dict[str, tuple[Series, ...]] = {}
        self.known: frozenset[str] = frozenset()  # every name in by_metric (shared)
        self.watched: list[tuple[str, tuple[Series, ...]]] = []  # the names some rule reads
        self.down: list[HostDownSeries] = []
        self.logs: list[tuple[LogSeries, Pattern, Callable[[str], Any] | None,
                              Callable[[str], bool] | None]] = []
        self.stopped = False  # said goodbye: no host_down until it sends again
        self.plan = EMPTY_PLAN  # the quiet guard of ``watched`` (broker/alerting/quiet.py)
        self.idle = False  # its guarded series were all idle after the last full evaluation


HostFilter = Callable[["HostSeries"], bool]


def is_label_matcher(entry: str) -> bool:
    """``team=db``, ``env!=prod``, ``team=~"db|web"`` in ``hosts``: host names hold no '='."""
    return "=" in entry


def host_filter(rule: Rule) -> HostFilter | None:
    """Does ``rule`` apply to a host? ``hosts`` holds name globs and label matchers: a host
    is in when it matches one of the globs (or there are none) and every matcher;
    ``exclude_hosts`` takes out a host matching any of its globs or matchers."""
    inc_m = [Matcher.parse(e) for e in rule.hosts if is_label_matcher(e)]
    exc_m = [Matcher.parse(e) for e in rule.exclude_hosts if is_label_matcher(e)]
    inc = compile_globs(tuple(e for e in rule.hosts if not is_label_matcher(e)))
    exc = compile_globs(tuple(e for e in rule.exclude_hosts if not is_label_matcher(e)))
    if inc is None and exc is None and not inc_m and not exc_m:
        return None

    def ok(hs: HostSeries) -> bool:
        if inc is not None and not inc(hs.name):
            return False
        if inc_m and not all(m.matches(hs.labels) for m in inc_m):
            return False
        if exc is not None and exc(hs.name):
            return False
        return not any(m.matches(hs.labels) for m in exc_m)
    return ok


class RuleIndex:
    """The enabled rules compiled for routing; ``absent`` lists every absent series."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        live = [r for r in rules if r.enabled]
        self.metric_rules = [(r, compile_glob(r.metric), host_filter(r))
                             for r in live if r.kind in METRIC_KINDS]
        self.down_rules = [(r, host_filter(r)) for r in live if r.kind == "host_down"]
        self.log_rules = [(r, compile_user(r.pattern), None if r.source == "*" else
                           compile_glob(r.source), level_matcher(r.level), host_filter(r))
                          for r in live if r.kind == "log"]
        self.absent: list[AbsentSeries] = []
        self.unfiltered = all(f is None for _, _, f in self.metric_rules)
        # a metric name -> the metric rules whose glob matches it (the same for every
        # host: a new host's names are matched once per fleet, not once per host)
        self._matching: dict[str, tuple[tuple[Rule, Any], ...]] = {}
        # a host's watched routing (names and rules) -> its quiet guard's template
        self._plans: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def matching(self, name: str) -> tuple[tuple[Rule, Any], ...]:
        """(rule, host filter) of the metric rules whose glob matches ``name``."""
        found = self._matching.get(name)
        if found is None:
            found = remember(self._matching, name, tuple(
                (rule, hosts_ok) for rule, match, hosts_ok in self.metric_rules if match(name)))
        return found

    def plan(self, watched: list[tuple[str, tuple[Series, ...]]]) -> QuietPlan:
        """The quiet guard of ``watched``, from a template shared by the hosts with the same
        names and rules (the checks depend on the rules alone, not on the series' state)."""
        # without host filters a host's routing follows from its names alone (series kept
        # by a rules reload have rules equal to these); with them, from the rules too
        key: tuple[Any, ...] = (tuple(n for n, _ in watched) if self.unfiltered else
                                tuple((n, tuple(map(id, (s.rule for s in ss))))
                                      for n, ss in watched))
        tpl = self._plans.get(key)
        if tpl is None:
            plan = QuietPlan(watched)
            # the rules are kept with the template: their ids in the key stay theirs
            remember(self._plans, key, (plan.template(watched),
                                        tuple(s.rule for _, ss in watched for s in ss)))
            return plan
        return QuietPlan.from_template(tpl[0], watched)

    def forget(self, host: str) -> None:
        """Drop a forgotten host's absent series (the rest lives in its HostSeries)."""
        self.absent = [s for s in self.absent if s.host != host]

    def series_for(self, hs: HostSeries, name: str, old: Mapping[Any, Series] | None = None
                   ) -> tuple[Series, ...]:
        found = []
        for rule, hosts_ok in self.matching(name):
            if hosts_ok is None or hosts_ok(hs):
                s = (old or {}).get((rule.name, name))
                if s is None or s.rule != rule:
                    s = SERIES[rule.kind](rule, hs.name, name)
                found.append(s)
                if isinstance(s, AbsentSeries):
                    self.absent.append(s)
        return tuple(found) if found else _NONE

    def host_series(self, hs: HostSeries, old: Mapping[Any, Series] | None = None) -> None:
        for rule, hosts_ok in self.down_rules:
            if hosts_ok is None or hosts_ok(hs):
                s = (old or {}).get((rule.name, ""))
                if not isinstance(s, HostDownSeries) or s.rule != rule:
                    s = HostDownSeries(rule, hs.name, "")
                    s.last_ts = hs.last_seen
                hs.down.append(s)
        for rule, rx, src, lvl, hosts_ok in self.log_rules:
            if hosts_ok is None or hosts_ok(hs):
                s = (old or {}).get((rule.name, ""))
                if not isinstance(s, LogSeries) or s.rule != rule:
                    s = LogSeries(rule, hs.name)
                hs.logs.append((s, rx, src, lvl))

    def learn(self, hs: HostSeries, names: Iterable[str]) -> None:
        """Index metric names this host never sent before (the slow path, once per name)."""
        by = hs.by_metric
        for name in names:
            if name not in by:
                name = sys.intern(name)  # one copy of each name for the whole fleet
                by[name] = self.series_for(hs, name)
        reindex(hs, self)

    def rebuild(self, hs: HostSeries) -> None:
        """Re-route a host after a rules change, keeping series whose rule is unchanged."""
        old: dict[Any, Series] = {(s.rule.name, s.metric): s
                                  for ss in hs.by_metric.values() for s in ss}
        old.update({(s.rule.name, ""): s for s in hs.down})
        old.update({(s.rule.name, ""): s for s, _, _, _ in hs.logs})
        names = list(hs.by_metric)
        hs.by_metric, hs.down, hs.logs = {}, [], []
        self.host_series(hs, old)
        for name in names:
            hs.by_metric[name] = self.series_for(hs, name, old)
        reindex(hs, self)

    def find(self, hs: HostSeries, rule: Rule, metric: str) -> Series | None:
        """The series of ``rule`` on this host (and metric), creating it when needed."""
        if rule.kind == "host_down":
            return next((x for x in hs.down if x.rule.name == rule.name), None)
        if rule.kind == "log":
            return next((x for x, _, _, _ in hs.logs if x.rule.name == rule.name), None)
        if metric not in hs.by_metric:
            self.learn(hs, (metric,))
        return next((x for x in hs.by_metric[metric] if x.rule.name == rule.name), None)


def reindex(hs: HostSeries, index: RuleIndex | None = None) -> None:
    hs.known = name_set(tuple(hs.by_metric))  # hosts with the same names share it
    hs.watched = [(n, ss) for n, ss in hs.by_metric.items() if ss]
    hs.plan = QuietPlan(hs.watched) if index is None else index.plan(hs.watched)
    hs.idle = False
