"""Build the fleet digest (core/digest.py) from the broker's state, once a second.

Runs on the core thread, so it is kept cheap. A host's figures are taken when its metrics
frame is handled (``note``: the frame's values are hot in the CPU cache then; read from
10,000 hosts' dicts in one pass at the tick they cost 3-4 times more) with a per-host plan
(which series feed the disk and network columns, and one C-level ``itemgetter`` for all of
them) made once and again only when the host's set of series changes (a host's latest
values only gain names). The tick's ``build`` gathers the tuples, transposes them with
``zip`` and picks the top hosts. Measured at 10,000 hosts: see docs/internals.md.

While no client follows the digest (``follow(False)``, from the tick) frames take no
figures (0.9 us a frame saved); when one subscribes again the figures kept are dropped and
the next ``build`` takes every host's from its latest values, which is what ``note`` would
have taken from them.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from broker.ingest.state import State
from broker.layout import remember
from core import digest as fleet

Figures = tuple[float, float, float, float, float, float]
BASE = ("cpu.percent", "mem.percent", "load.1")


def plan(metrics: Mapping[str, float]) -> Callable[[Mapping[str, float]], Figures]:
    """A function of a host's latest metrics to its (cpu, mem, disk, rx, tx, load)."""
    disk, rx, tx = fleet.feeds(metrics)
    if not (disk and rx and tx and all(k in metrics for k in BASE)):
        return lambda m: fleet.figures(m, disk, rx, tx)
    keys = (*BASE, *disk, *rx, *tx)
    get = itemgetter(*keys)
    a, b = 3 + len(disk), 3 + len(disk) + len(rx)

    def figures(m: Mapping[str, float]) -> Figures:
        v = get(m)
        return v[0], v[1], max(v[3:a]), sum(v[a:b]), sum(v[b:]), v[2]

    return figures


UNKNOWN: Figures = (math.nan,) * 6
_PLANS: dict[tuple[str, ...], Callable[[Mapping[str, float]], Figures]] = {}


def shared_plan(metrics: Mapping[str, float]) -> Callable[[Mapping[str, float]], Figures]:
    """``plan`` of these names, made once for every host that has the same ones (a plan
    reads only the names: a joining host of a known shape costs a lookup)."""
    key = tuple(metrics)
    found = _PLANS.get(key)
    if found is None:
        found = remember(_PLANS, key, plan(metrics))
    return found


class DigestBuilder:
    def __init__(self, top_n: int = fleet.TOP_N) -> None:
        self.top_n = top_n
        self._plans: dict[str, tuple[int, Callable[[Mapping[str, float]], Figures]]] = {}
        self._figures: dict[str, Figures] = {}
        self._names: tuple[int, list[str]] = (-1, [])  # (state.version, sorted names)
        self.noting = True  # figures taken per frame: some client follows the digest

    def follow(self, on: bool) -> None:
        """Take figures per frame (a client follows the digest) or not."""
        if on != self.noting:
            self._figures.clear()  # none is stale: build takes them from the latest values
            self.noting = on

    def note(self, host: str, metrics: Mapping[str, float]) -> None:
        """Take a host's figures from its latest metrics (all of them, not just the frame)."""
        self._figures[host] = self._figures_of(host, metrics)

    def build(self, state: State, alerts: Mapping[str, int], now: float) -> dict[str, Any]:
        hosts, current = state.hosts, self._figures
        if self._names[0] != state.version:  # sorting 10,000 names: only when they change
            self._names = (state.version, sorted(hosts))
        names = self._names[1]
        records = [hosts[n] for n in names]
        if self.noting:
            figs = [current.get(n) or self._take(n, hs.metrics)
                    for n, hs in zip(names, records, strict=True)]
        else:
            figs = [self._figures_of(n, hs.metrics) for n, hs in zip(names, records, strict=True)]
        if len(current) > len(hosts):
            for gone in set(current) - set(hosts):
                del current[gone]
                self._plans.pop(gone, None)
        cols: dict[str, Any] = dict(zip(fleet.COLUMNS[:6], zip(*figs, strict=True), strict=True)) \
            if figs else {c: () for c in fleet.COLUMNS[:6]}
        cols["alerts"] = [float(alerts.get(n, 0)) for n in names] if alerts else [0.0] * len(names)
        cols["age"] = [now - hs.last_seen for hs in records]
        letters = fleet.STATUS_LETTER
        status = "".join([letters.get(hs.status, "?") for hs in records])
        top = {c: self._top(col, names) for c, col in cols.items()}
        return {"ts": now, "hosts": names, "status": status,
                "figures": {c: fleet.pack_column(col) for c, col in cols.items()},
                "top": top,
                "counts": {"total": len(names), "up": status.count("u"),
                           "down": status.count("d"), "stopped": status.count("s"),
                           "alerting": sum(1 for n in alerts.values() if n)}}

    def _figures_of(self, host: str, metrics: Mapping[str, float]) -> Figures:
        if not metrics:
            return UNKNOWN
        p = self._plans.get(host)
        if p is None or p[0] != len(metrics):
            p = self._plans[host] = (len(metrics), shared_plan(metrics))
        return p[1](metrics)

    def _take(self, host: str, metrics: Mapping[str, float]) -> Figures:
        """A host without figures (none noted since ``follow(True)``): from its latest."""
        if not metrics:
            return UNKNOWN
        figs = self._figures[host] = self._figures_of(host, metrics)
        return figs

    def _top(self, col: Any, names: list[str]) -> list[str]:
        """The names of the ``top_n`` highest values (NaN is unknown), highest first: the
        n-th value found without a key function, then only the few at or above it sorted."""
        known = [v for v in col if v == v]
        if not known:
            return []
        floor = heapq.nlargest(self.top_n, known)[-1]
        best = [i for i, v in enumerate(col) if v >= floor]
        best.sort(key=lambda i: (-col[i], i))
        return [names[i] for i in best[:self.top_n]]
