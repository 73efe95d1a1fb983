"""One host's recent samples, flat: a ring of rows in one ``array('f')``, a column per series.

A host's agent sends the same metric names in the same order every interval, so a frame is
usually one C-level slice assignment (``data[row] = array('f', metrics.values())``) instead
of a Python loop over the names; and a value costs 4 bytes (a float32) instead of a float
object (24 bytes) plus a deque slot (8 bytes) per series. The ring only feeds what is drawn
(sparklines, the live end of a chart), so a value is kept to float32 precision: it comes back
within 2**-24 of what was sent, relative (6e-8: 12.3 is kept as 12.300000190734863), far below
what a sparkline (8 levels) or a chart axis (4 significant digits) shows
(tests/unit/test_history.py holds the bound and the drawings equal); integers up to 2**24 and
values such as 0.5 or 0.25 come back exactly. A value past float32's range (3.4e38) reads
back as the largest float32 of its sign, never as infinity. The latest values, the rollups
and the alert engine keep full doubles.
A frame with other names (a new disk, a metric that comes and goes) takes the slow path: new
columns are added (the ring is re-laid out, once per new name) and a series absent from a
frame holds NaN in that row, which ``series`` skips. Rows are frames, so the sparklines of
one host line up in time; each row's sample time is kept beside it (``ts``, a double: 8
bytes a frame), so ``tail`` gives a chart the live samples not yet in a rollup.
Only the series ``keep`` accepts get a column (the dashboard's sparkline series): the rest
of a frame costs nothing here. Hosts with the same columns share one name -> column dict
(broker/layout.py).
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Callable, Iterator, Mapping
from operator import itemgetter

from broker.layout import layout, names, remember

NAN = math.nan
INF = math.inf
FLT_MAX = 3.4028234663852886e38  # the largest float32: a value past it is stored as inf


def _finite(values: list[float]) -> list[float]:
    """``values`` with a float32 overflow (inf: the value sent was finite, past FLT_MAX)
    read back as the largest float32 of its sign (the common case: one C-level scan)."""
    if INF in values or -INF in values:
        return [FLT_MAX if v == INF else -FLT_MAX if v == -INF else v for v in values]
    return values


_KEPT: dict[tuple[Callable[[str], bool] | None, tuple[str, ...]], tuple[str, ...]] = {}


def _kept(keep: Callable[[str], bool] | None, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The names of ``keys`` that ``keep`` accepts, in order: the same for every host of a
    shape, so a joining host does not call ``keep`` once per name."""
    found = _KEPT.get((keep, keys))
    if found is None:
        found = remember(_KEPT, (keep, keys),
                         keys if keep is None else tuple(k for k in keys if keep(k)))
    return found


_GETTERS: dict[tuple[str, ...], Callable[[Mapping[str, float]], tuple[float, ...]]] = {}


def _getter(cols: tuple[str, ...]) -> Callable[[Mapping[str, float]], tuple[float, ...]]:
    """A function of a frame to the tuple of its ``cols`` values (one C-level itemgetter,
    shared by the hosts with these columns; itemgetter of one name gives no tuple)."""
    found = _GETTERS.get(cols)
    if found is None:
        get: Callable[[Mapping[str, float]], tuple[float, ...]]
        if len(cols) > 1:
            get = itemgetter(*cols)
        else:
            def get(m: Mapping[str, float]) -> tuple[float, ...]:
                return tuple(m[k] for k in cols)
        found = remember(_GETTERS, cols, get)
    return found


def readable(v: float) -> float:
    """A float32 read back as its decimal of 7 significant digits when that stores as the
    same float32, else of 8, else 9 (9 always do): 12.3 is sent, stored as
    12.300000190734863, and read as 12.3 again. About 0.8 us a value, so only what a
    chart's ``recent`` asks for (one series) is made readable; a snapshot's sparkline
    histories stay raw (drawn, not read: docs/events.md)."""
    for digits in (".7g", ".8g"):
        r = float(format(v, digits))
        if _F32.unpack(_F32.pack(r))[0] == v:
            return r
    return float(format(v, ".9g"))


_F32 = struct.Struct("f")


_PUTTERS: dict[int, Callable[..., None]] = {}


def _putter(n: int) -> Callable[..., None]:
    """``Struct(n float32).pack_into``, shared by the rings of ``n`` columns."""
    found = _PUTTERS.get(n)
    if found is None:
        found = remember(_PUTTERS, n, struct.Struct(f"{n}f").pack_into)
    return found


class History:
    __slots__ = ("length", "keep", "seen", "cols", "index", "get", "put", "data", "row", "rows",
                 "ts")

    def __init__(self, length: int, keep: Callable[[str], bool] | None = None) -> None:
        self.length = length
        self.keep = keep
        self.seen: tuple[str, ...] = ()  # the names of the last frame, all of them
        self.cols: tuple[str, ...] = ()  # series names, in the order of the columns
        self.index: dict[str, int] = {}
        self.get: Callable[[Mapping[str, float]], tuple[float, ...]] = _getter(())
        self.put = _putter(0)  # packs a row of float32 into ``data`` in place
        self.data = array("f")  # length x len(cols), row-major, float32
        self.row = 0  # the next row to write
        self.rows = 0  # rows written, at most length
        self.ts = array("d")  # the sample time of each row (allocated with the first row)

    def add(self, metrics: Mapping[str, float], ts: float = NAN) -> None:
        if tuple(metrics) != self.seen:
            self._add_slow(metrics, ts)
        else:
            self.add_same(metrics, ts)

    def add_same(self, metrics: Mapping[str, float], ts: float = NAN) -> None:
        """``add`` for a frame the caller knows has the names of the last one (``seen``):
        the fast path without its shape check (the steady lane, state.apply_steady)."""
        n = len(self.cols)
        if not n:
            return
        at = self.row * n
        values = metrics.values() if self.keep is None else self.get(metrics)
        try:  # in place (0.30 us; array('f', ...) assigned to a slice 0.45, array('f', map) 0.78)
            self.put(self.data, at * 4, *values)
        except (OverflowError, struct.error):  # a struct refusing a value past float32
            self.data[at:at + n] = array("f", values)
        self._advance(ts)

    def _add_slow(self, metrics: Mapping[str, float], ts: float) -> None:
        keys = tuple(metrics)
        kept_names = _kept(self.keep, keys)
        kept = dict(zip(kept_names, map(metrics.__getitem__, kept_names), strict=True))
        new = [k for k in kept_names if k not in self.index]
        if new:
            self._widen(new)
        # the next frame with these names takes the fast path (the names shared, not this
        # frame's own strings); after a new column, an older shape without it must not (it
        # would look the new column up in the frame)
        self.seen = names(keys) if kept_names == self.cols else ()
        if not kept:
            return
        metrics = kept
        n = len(self.cols)
        row = [NAN] * n
        index = self.index
        for name, value in metrics.items():
            row[index[name]] = value
        at = self.row * n
        self.data[at:at + n] = array("f", row)
        self._advance(ts)

    def _widen(self, names: list[str]) -> None:
        old_n, cols = len(self.cols), self.cols + tuple(names)
        data = array("f", [NAN]) * (self.length * len(cols))
        if old_n:
            n = len(cols)
            for r in range(self.length):
                data[r * n:r * n + old_n] = self.data[r * old_n:(r + 1) * old_n]
        (self.cols, self.index), self.data = layout(cols), data
        self.get, self.put = _getter(self.cols), _putter(len(self.cols))

    def _advance(self, ts: float) -> None:
        if not self.ts:
            self.ts = array("d", [NAN]) * self.length
        self.ts[self.row] = ts
        self.row = (self.row + 1) % self.length
        if self.rows < self.length:
            self.rows += 1

    def series(self, name: str) -> list[float]:
        """The values of one series, oldest first (rows where it was absent skipped)."""
        i = self.index.get(name)
        if i is None:
            return []
        column = self.data[i::len(self.cols)]
        if self.rows == self.length:
            ordered = column[self.row:] + column[:self.row]
        else:
            ordered = column[:self.rows]
        return _finite([v for v in ordered if v == v])

    def tail(self, name: str, since: float = -math.inf) -> list[tuple[float, float]]:
        """(sample time, value) of one series from ``since`` on, oldest first: the live
        samples a chart draws after the last rollup (rows without a time are skipped)."""
        i = self.index.get(name)
        if i is None or not self.ts:
            return []
        n = len(self.cols)
        order = (list(range(self.row, self.length)) + list(range(self.row))
                 if self.rows == self.length else list(range(self.rows)))
        out = []
        for r in order:
            t, v = self.ts[r], self.data[r * n + i]
            if t >= since and v == v:  # NaN time or value: not comparable / absent
                out.append((t, readable(v) if -INF < v < INF else FLT_MAX if v > 0 else -FLT_MAX))
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self.cols)

    def __contains__(self, name: object) -> bool:
        return name in self.index

    def __len__(self) -> int:
        return len(self.cols)

    def nbytes(self) -> int:
        return (self.data.buffer_info()[1] * self.data.itemsize
                + self.ts.buffer_info()[1] * self.ts.itemsize)
