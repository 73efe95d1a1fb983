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

Idleness only changes through a full evaluation (``on_sample``) or an alert linked to a
series (``AlertEngine.attach``: a restore or a rules change), which clears it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from broker.alerting.evaluators import Series, ThresholdSeries

Cmp = Callable[[float, float], bool]


def bound(s: Series) -> tuple[Cmp, float] | None:
    """(cmp, b): ``cmp(value, b)`` true means the series yields no level from an idle
    state (the mirror of ``Levels.level`` with ``cur=None``); None: not a plain threshold."""
    if type(s) is not ThresholdSeries or s.window is not None or s.per_core:
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

    __slots__ = ("checks", "rest", "guarded")

    def __init__(self, watched: list[tuple[str, tuple[Series, ...]]]) -> None:
        groups: dict[Cmp, tuple[list[str], list[float]]] = {}
        rest: list[tuple[str, tuple[Series, ...]]] = []
        guarded: list[Series] = []
        for name, ss in watched:
            other = []
            for s in ss:
                cb = bound(s)
                if cb is None:
                    other.append(s)
                    continue
                names, bounds = groups.setdefault(cb[0], ([], []))
                names.append(name)
                bounds.append(cb[1])
                guarded.append(s)
            if other:
                rest.append((name, tuple(other)))
        self.checks = [(tuple(n), tuple(b), cmp) for cmp, (n, b) in groups.items()]
        self.rest = rest  # what a quiet frame still evaluates
        self.guarded = tuple(guarded)

    def quiet(self, metrics: Mapping[str, float]) -> bool:
        """Every guarded series' value on its quiet side (and present in the frame)."""
        get = metrics.__getitem__
        try:
            for names, bounds, cmp in self.checks:
                if not all(map(cmp, map(get, names), bounds)):
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
