"""The quiet guard: a host whose threshold rules cannot fire on a frame skips them.

Most samples of a healthy fleet are far below every threshold, yet evaluating one
threshold series is a Python call and a few attribute writes (about 0.5 us; seven of them
a frame with the default rules). A host's plain threshold series (no ``over`` window, not
``per_core``) are folded here into a few C-level passes: for each comparison (``<=``,
``<``, ``>=``, ``>``) a tuple of metric names and a tuple of bounds, where a value on the
bound's side means "no level" whatever the series held before, *provided* the series was
idle: no level and no active alert (hysteresis and ``keep_firing_for`` only matter once a
condition holds). A frame that passes every comparison, on a host whose series were all
idle after its last full evaluation, leaves those series as they are: nothing would have
changed but ``value`` and ``last_ts``, which only an active alert reads (its value, its
staleness). Any other frame (a value past a bound, a watched name missing, a series not
idle) is evaluated in full, and the host's idleness is taken again afterwards.

A ``per_core`` threshold (load per core) is guarded the same way on ``value / cores`` (the
division ``observe`` makes, in C: ``map(truediv, ...)``), while the host's core count is
known; without it the frame is evaluated in full. The checks of hosts with the same watched
names and rules are one shared tuple (most of a fleet): fewer objects, warmer caches.

Idleness only changes through a full evaluation (``on_sample``) or an alert linked to a
series (``AlertEngine.attach``: a restore or a rules change), which clears it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any

from broker.alerting.evaluators import Series, ThresholdSeries
from broker.layout import remember

Cmp = Callable[[float, float], bool]
Checks = tuple[tuple[tuple[str, ...], tuple[float, ...], Cmp], ...]
# (checks, per_core checks, the rest's names, rest: (watched index, series index),
# guarded: (i, j))
Template = tuple[Checks, Checks, tuple[str, ...], tuple[tuple[int, int], ...],
                 tuple[tuple[int, int], ...]]


def bound(s: Series) -> tuple[Cmp, float] | None:
    """(cmp, b): ``cmp(value, b)`` true means the series yields no level from an idle
    state (the mirror of ``Levels.level`` with ``cur=None``); None: not a plain threshold."""
    if type(s) is not ThresholdSeries or s.window is not None:
        return None
    lv = s.levels
    edges = [x for x in (lv.sw, lv.sc) if x is not None]
    if not edges:
        return None
    b = min(edges)  # in sign-adjusted units: no level iff sign*v <= b (strict ops) or < b
    if lv.sign > 0:
        return (operator.le, b) if lv.strict else (operator.lt, b)
    return (operator.ge, -b) if lv.strict else (operator.gt, -b)


class QuietPlan:
    """One host's guard, rebuilt when its routing changes (index.reindex)."""

    __slots__ = ("checks", "per_core", "names", "series", "guarded")

    def __init__(self, watched: list[tuple[str, tuple[Series, ...]]]) -> None:
        groups: dict[tuple[Cmp, bool], tuple[list[str], list[float]]] = {}
        rest: list[tuple[str, tuple[Series, ...]]] = []
        guarded: list[Series] = []
        for name, ss in watched:
            other = []
            for s in ss:
                cb = bound(s)
                if cb is None:
                    other.append(s)
                    continue
                names, bounds = groups.setdefault((cb[0], bool(getattr(s, "per_core", False))),
                                                 ([], []))
                names.append(name)
                bounds.append(cb[1])
                guarded.append(s)
            if other:
                rest.append((name, tuple(other)))
        self.checks = _shared(tuple((tuple(n), tuple(b), cmp)
                                    for (cmp, pc), (n, b) in groups.items() if not pc))
        self.per_core = _shared(tuple((tuple(n), tuple(b), cmp)
                                      for (cmp, pc), (n, b) in groups.items() if pc))
        # what a quiet frame still evaluates, flat: a name per series (the names' tuple
        # shared by the hosts of a template) and one tuple of series a host, walked with
        # one zip: no per-host list of (name, tuple) pairs to read, cold, every frame
        self.names = _shared_names(tuple(n for n, ss in rest for _ in ss))
        self.series = tuple(s for _, ss in rest for s in ss)
        self.guarded = tuple(guarded)

    @property
    def rest(self) -> list[tuple[str, tuple[Series, ...]]]:
        """(name, its series) of what a quiet frame still evaluates, in order."""
        out: list[tuple[str, tuple[Series, ...]]] = []
        for name, s in zip(self.names, self.series, strict=True):
            if out and out[-1][0] is name:
                out[-1] = (name, (*out[-1][1], s))
            else:
                out.append((name, (s,)))
        return out

    def template(self, watched: list[tuple[str, tuple[Series, ...]]]) -> Template:
        """What another host with the same names and rules can share of this plan: the
        checks, and where its rest and guarded series sit in its ``watched``."""
        rest, guarded = set(map(id, self.series)), set(map(id, self.guarded))
        return (self.checks, self.per_core, self.names,
                tuple((i, j) for i, (_, ss) in enumerate(watched) for j, s in enumerate(ss)
                      if id(s) in rest),
                tuple((i, j) for i, (_, ss) in enumerate(watched) for j, s in enumerate(ss)
                      if id(s) in guarded))

    @classmethod
    def from_template(cls, tpl: Template, watched: list[tuple[str, tuple[Series, ...]]]
                      ) -> QuietPlan:
        """The plan of ``watched`` from the template of a host routed the same way (its
        guarded series are taken in the order the template's plan took them)."""
        plan = cls.__new__(cls)
        plan.checks, plan.per_core, plan.names, rest, guarded = tpl
        plan.series = tuple(watched[i][1][j] for i, j in rest)
        plan.guarded = tuple(watched[i][1][j] for i, j in guarded)
        return plan

    def quiet(self, metrics: Mapping[str, float], cores: float = 0.0) -> bool:
        """Every guarded series' value on its quiet side (and present in the frame);
        ``cores``: the host's core count (the per-core thresholds' divisor, 0 unknown)."""
        get = metrics.__getitem__
        try:
            for names, bounds, cmp in self.checks:
                if not all(map(cmp, map(get, names), bounds)):
                    return False
            if self.per_core:
                if not cores:
                    return False  # the full evaluation does what it does without cores
                for names, bounds, cmp in self.per_core:
                    if not all(map(cmp, map(operator.truediv, map(get, names), repeat(cores)),
                                   bounds)):
                        return False
        except KeyError:
            return False
        return True

    def idle(self) -> bool:
        """No guarded series holds a level or an active alert."""
        for s in self.guarded:
            if s.level is not None:
                return False
            a: Any = s.alert
            if a is not None and a.active:
                return False
        return True


_SHARED: dict[Checks, Checks] = {}
_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


def _shared_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The one tuple equal to ``names`` (the rest's names of hosts routed alike)."""
    found = _NAMES.get(names)
    if found is None:
        found = remember(_NAMES, names, names)
    return found


def _shared(checks: Checks) -> Checks:
    """The one tuple equal to ``checks`` (hosts with the same names and rules share it)."""
    found = _SHARED.get(checks)
    if found is None:
        found = remember(_SHARED, checks, checks)
    return found


EMPTY_PLAN = QuietPlan([])  # a host routed nowhere yet (shared: a plan is never changed)
