"""One host's open rollup bucket: min, max, sum and count of each series, a column each.

``Rollups.add`` runs on the ingest thread for every frame. An agent sends the same metric
names in the same order every interval, so the common frame is one C-level append of its
values to a small flat buffer (``array('d')``); every BLOCK rows the buffer is folded a
column at a time with C-level ``min``, ``max`` and ``sum`` over a slice, so no Python code
runs per value. A bucket's first fold comes after 1 to BLOCK rows (buckets made one after
the other take 1, 2, ... BLOCK, then again): a fleet's minute buckets all open at the same
second, and with one BLOCK for all every buffer filled and emptied in step, so the fleet's
buffers swung between nothing and full (16 rows x 21 series x 8 B x 10,000 hosts = 27 MB,
in glibc's heap, measured with mallinfo2 in bench/heap_live.py); staggered, they hold about
half that, steadily, for the same folds. A frame with other names takes the slow path (the
buffer is folded, then a loop, new columns as needed). The count of column ``i`` is
``full + off[i]``: ``full`` counts the fast-path rows, ``off[i]`` the slow-path ones less
the ``full`` of before the column existed. A column whose count is zero holds nothing and
yields no row. The names and their column numbers are shared by every bucket with the same
names (broker/layout.py); min, max, sum and ``off`` are ``array``s too. One bucket of 21
series: about 0.9 KB, plus the buffer.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Mapping
from itertools import cycle
from operator import add as _add

from broker.layout import layout

INF = math.inf
BLOCK = 16  # rows buffered before a fold: 16 x 21 metrics x 8 bytes = 2.7 KB per host
_FIRST = cycle(range(1, BLOCK + 1))  # the rows before a new bucket's first fold


class Columns:
    __slots__ = ("keys", "index", "mn", "mx", "sm", "full", "off", "buf", "rows", "limit")

    def __init__(self) -> None:
        self.keys: tuple[str, ...] = ()
        self.index: dict[str, int] = {}
        # flat (8 bytes a number): lists of float objects cost 32 bytes a number
        self.mn = array("d")
        self.mx = array("d")
        self.sm = array("d")
        self.full = 0
        self.off = array("q")
        self.buf = array("d")  # rows not folded yet, row-major
        self.rows = 0
        self.limit = next(_FIRST)  # rows buffered before the next fold

    def __len__(self) -> int:
        return len(self.keys)

    def fold(self, metrics: Mapping[str, float], room: int) -> tuple[int, int]:
        """Fold one frame in; at most ``room`` new columns. Returns (added, refused)."""
        if tuple(metrics) == self.keys:
            self.buf.extend(metrics.values())
            self.rows += 1
            if self.rows >= self.limit:
                self.settle()
            return 0, 0
        self.settle()
        added = refused = 0
        for name, v in metrics.items():
            i = self.index.get(name)
            if i is None:
                if added >= room:
                    refused += 1
                    continue
                i = self._column(name)
                added += 1
            if v < self.mn[i]:
                self.mn[i] = v
            if v > self.mx[i]:
                self.mx[i] = v
            self.sm[i] += v
            self.off[i] += 1
        return added, refused

    def settle(self) -> None:
        """Fold the buffered rows into min, max, sum and count. The buffer is made floats
        once (``tolist``); each column is summed in row order, then sorted for its min and
        max: list.sort compares floats in C, where ``min`` and ``max`` each made a float of
        every value and compared them generically (27 -> 20 us a settle of 16 x 21)."""
        if not self.rows:
            return
        vals, n = self.buf.tolist(), len(self.keys)
        mn, mx, sm = self.mn, self.mx, self.sm
        for i in range(n):
            col = vals[i::n]
            total = sum(col)
            col.sort()
            if col[0] < mn[i]:
                mn[i] = col[0]
            if col[-1] > mx[i]:
                mx[i] = col[-1]
            sm[i] += total
        self.full += self.rows
        self.buf, self.rows, self.limit = array("d"), 0, BLOCK

    def _column(self, name: str) -> int:
        i = len(self.keys)
        self.keys, self.index = layout((*self.keys, name))
        self.mn.append(INF)
        self.mx.append(-INF)
        self.sm.append(0.0)
        self.off.append(-self.full)
        return i

    def merge(self, name: str, row: list[float]) -> int:
        """Merge a [min, max, sum, count] row into a series; 1 if a column was added."""
        self.settle()
        i = self.index.get(name)
        added = 0
        if i is None:
            i, added = self._column(name), 1
        self.mn[i] = min(self.mn[i], row[0])
        self.mx[i] = max(self.mx[i], row[1])
        self.sm[i] += row[2]
        self.off[i] += int(row[3])
        return added

    def merge_all(self, other: Columns) -> int:
        """Merge every series of ``other`` in; the number of columns added. A closing
        minute is merged into its hour this way, a host at a time: with the same names
        (shared layout) it is four C-level passes over the columns (the count of column
        ``i`` is ``full + off[i]``, so adding ``full`` and each ``off`` adds the counts),
        into an empty bucket a copy; 21 ``merge`` calls a host took 0.4-0.5 s of the
        writer thread, holding the GIL, at every minute close of 10,000 hosts."""
        other.settle()
        self.settle()
        if other.keys is self.keys or (self.keys and other.keys == self.keys):
            self.mn = array("d", map(min, self.mn, other.mn))
            self.mx = array("d", map(max, self.mx, other.mx))
            self.sm = array("d", map(_add, self.sm, other.sm))
            self.off = array("q", map(_add, self.off, other.off))
            self.full += other.full
            return 0
        if not self.keys:
            self.keys, self.index = other.keys, other.index
            self.mn, self.mx, self.sm = array("d", other.mn), array("d", other.mx), array(
                "d", other.sm)
            self.off = array("q", other.off)
            self.full = other.full
            return len(self.keys)
        return sum(self.merge(name, row) for name, row in other.items())

    def subtract(self, name: str, total: float, count: int) -> None:
        """Take a share (sum and count) back out; a series left with no samples is reset."""
        self.settle()
        i = self.index.get(name)
        if i is None:
            return
        self.sm[i] -= total
        self.off[i] -= count
        if self.full + self.off[i] <= 0:
            self.mn[i], self.mx[i], self.sm[i], self.off[i] = INF, -INF, 0.0, -self.full

    def item(self, name: str) -> list[float] | None:
        self.settle()
        i = self.index.get(name)
        if i is None or self.full + self.off[i] <= 0:
            return None
        return [self.mn[i], self.mx[i], self.sm[i], self.full + self.off[i]]

    def items(self) -> Iterator[tuple[str, list[float]]]:
        self.settle()
        full = self.full
        for i, name in enumerate(self.keys):
            n = full + self.off[i]
            if n > 0:
                yield name, [self.mn[i], self.mx[i], self.sm[i], n]
