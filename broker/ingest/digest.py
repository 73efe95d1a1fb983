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
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain, compress, count, islice, repeat
from operator import eq, itemgetter
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
    if len(rx) == len(tx) == 1 and len(disk) <= 2:  # the common shapes, unrolled: 0.55 ->
        return _one_disk(get) if len(disk) == 1 else _two_disks(get)  # 0.21 us a frame
    a, b = 3 + len(disk), 3 + len(disk) + len(rx)

    def figures(m: Mapping[str, float]) -> Figures:
        v = get(m)
        return v[0], v[1], max(v[3:a]), sum(v[a:b]), sum(v[b:]), v[2]

    return figures


def _one_disk(get: Callable[[Mapping[str, float]], Any]
              ) -> Callable[[Mapping[str, float]], Figures]:
    def figures(m: Mapping[str, float]) -> Figures:
        cpu, mem, load, disk, rx, tx = get(m)
        return cpu, mem, disk, 0 + rx, 0 + tx, load  # 0 + x: what sum([x]) gives

    return figures


def _two_disks(get: Callable[[Mapping[str, float]], Any]
               ) -> Callable[[Mapping[str, float]], Figures]:
    def figures(m: Mapping[str, float]) -> Figures:
        cpu, mem, load, d1, d2, rx, tx = get(m)
        return cpu, mem, d2 if d2 > d1 else d1, 0 + rx, 0 + tx, load  # max(d1, d2)'s pick

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
        # (state.version, sorted names, name -> place, their records): made again only when
        # hosts come or go
        self._names: tuple[int, list[str], dict[str, int], list[Any]] = (-1, [], {}, [])
        self.noting = True  # figures taken per frame: some client follows the digest
        self._hints: dict[str, float | None] = {}  # column -> top_indices' hint

    def follow(self, on: bool) -> None:
        """Take figures per frame (a client follows the digest) or not."""
        if on != self.noting:
            self._figures.clear()  # none is stale: build takes them from the latest values
            self.noting = on

    def note(self, host: str, metrics: Mapping[str, float]) -> None:
        """Take a host's figures from its latest metrics (all of them, not just the frame)."""
        p = self._plans.get(host)  # _figures_of, inlined: this runs for every frame
        if p is not None and p[0] == len(metrics):
            self._figures[host] = p[1](metrics)
        else:
            self._figures[host] = self._figures_of(host, metrics)

    def build(self, state: State, alerts: Mapping[str, int], now: float) -> dict[str, Any]:
        hosts, current = state.hosts, self._figures
        if self._names[0] != state.version:  # sorting 10,000 names: only when they change
            names = sorted(hosts)  # (a host's record is made when it joins, version + 1)
            self._names = (state.version, names, {n: i for i, n in enumerate(names)},
                           list(map(hosts.__getitem__, names)))
            for gone in current.keys() - hosts.keys():  # figures kept only for hosts known
                del current[gone]
            for gone in self._plans.keys() - hosts.keys():
                del self._plans[gone]
        _, names, index, records = self._names
        n = len(names)
        flat = None  # every host's six figures in a row, host after host
        if self.noting and len(current) == n:  # every host noted (``current`` holds known
            try:                                # hosts only): one C-level gather
                flat = list(chain.from_iterable(map(current.__getitem__, names)))
            except KeyError:
                flat = None
        if flat is None:
            flat = list(chain.from_iterable(
                [current.get(h) or self._take(h, hs.metrics)
                 for h, hs in zip(names, records, strict=True)] if self.noting else
                [self._figures_of(h, hs.metrics) for h, hs in zip(names, records, strict=True)]))
        # columns by slicing, not zip(*figures): that made 10,000 iterators at once, and
        # with them a young garbage-collector pass every second (about 10 ms)
        cols: dict[str, Any] = {c: flat[k::6] for k, c in enumerate(fleet.COLUMNS[:6])}
        counts = [0.0] * n
        for host, k in alerts.items():  # the few alerting hosts, by their place
            i = index.get(host)
            if i is not None:
                counts[i] = float(k)
        cols["alerts"] = counts
        cols["age"] = [now - hs.last_seen for hs in records]  # (attribute loads of slots:
        letters = fleet.STATUS_LETTER                       # faster here than attrgetter)
        status = "".join([letters.get(hs.status, "?") for hs in records])
        top, hints = {}, self._hints
        for c, col in cols.items():
            places, hints[c] = top_indices(col, self.top_n, hints.get(c))
            top[c] = [names[i] for i in places]
        return {"ts": now, "hosts": names, "status": status,
                "figures": {c: fleet.pack_column(col) for c, col in cols.items()},
                "top": top,
                "counts": {"total": n, "up": status.count("u"),
                           "down": status.count("d"), "stopped": status.count("s"),
                           "alerting": sum(1 for k in alerts.values() if k)}}

    def _figures_of(self, host: str, metrics: Mapping[str, float]) -> Figures:
        if not metrics:
            return UNKNOWN
        p = self._plans.get(host)
        if p is None or p[0] != len(metrics):
            p = self._plans[host] = (len(metrics), shared_plan(metrics))
        return p[1](metrics)

    def _take(self, host: str, metrics: Mapping[str, float]) -> Figures:
        """A host without figures (none noted since ``follow(True)``): from its latest."""
        figs = self._figures[host] = self._figures_of(host, metrics)
        return figs


def top_names(col: Sequence[float], names: Sequence[str], n: int,
              hint: float | None = None) -> list[str]:
    """The names of the ``n`` highest values of ``col`` (``top_indices``)."""
    return [names[i] for i in top_indices(col, n, hint)[0]]


def top_indices(col: Sequence[float], n: int, hint: float | None = None
                ) -> tuple[list[int], float | None]:
    """The places of the ``n`` highest values of ``col`` (NaN is unknown), highest first and
    ties in place order: what sorting every place by (-value, place) gives, without
    sorting the fleet; and a hint for the next call on this column (its 2n-th value).

    The n-th value is found without a key function (``heapq.nlargest``); only the fewer
    than ``n`` above it are sorted, and ties at it are taken in order until ``n`` are found
    (in the alerts column of a fleet where few hosts alert, 10,000 tie at 0: sorting them
    all with a key cost 2-5 ms a second). With a ``hint`` (last second's 2n-th value: a
    fleet's figures move little in a second) one pass keeps the places at or above it; if
    there are at least ``n``, the n-th value is at or above the hint, so every place of the
    answer is among them, and the rest of the work is on those few. Otherwise (or without a
    hint) the whole column is searched; NaN anywhere makes its sum NaN: only then are the
    unknown values filtered out first. Any hint gives the same answer."""
    if n <= 0 or not col:
        return [], None
    if hint is not None:
        cand = [i for i, v in enumerate(col) if v >= hint]
        if len(cand) >= n:
            best = heapq.nlargest(2 * n, [col[i] for i in cand])
            floor = best[n - 1]
            above = [i for i in cand if col[i] > floor]
            ties: Iterable[int] = (i for i in cand if col[i] == floor)
            return _ordered(col, above, ties, n), _hint(best, floor, n)
    total = sum(col)
    known = col if total == total else [v for v in col if v == v]
    if not known:
        return [], None
    best = heapq.nlargest(2 * n, known)
    floor = best[min(n, len(best)) - 1]
    above = [i for i, v in enumerate(col) if v > floor]
    ties = compress(count(), map(eq, col, repeat(floor)))
    return _ordered(col, above, ties, n), _hint(best, floor, n)


def _ordered(col: Sequence[float], above: list[int], ties: Iterable[int], n: int
             ) -> list[int]:
    above.sort(key=lambda i: (-col[i], i))
    return above + list(islice(ties, n - len(above)))


def _hint(best: list[float], floor: float, n: int) -> float | None:
    """The 2n-th value, when below the n-th (ties down to it: no hint, the whole column is
    searched, which takes ties in C)."""
    return best[-1] if len(best) == 2 * n and best[-1] < floor else None
