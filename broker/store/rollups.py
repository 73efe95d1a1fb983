"""Metric rollups: 1 min and 1 h min/avg/max/count per (host, metric) series.

``Rollups.add`` runs on the ingest hot path: it only queues the sample; the store's
writer thread folds the queue into in-memory buckets (under a lock) before it reads them,
so the fold costs the ingest thread nothing. The writer calls ``take_closed`` and persists
what it gets with an upsert that merges (min of mins, sum of sums...), so a late sample that lands in a
bucket already written is merged, never lost. ``history`` reads the persisted buckets and
overlays the ones still in memory, so a chart shows the current minute too.
"""

from __future__ import annotations

import math
import sqlite3
import struct
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from broker.layout import remember
from broker.store.columns import Columns
from broker.store.schema import insert_rows

STEPS = {"1m": 60, "1h": 3600}
INBOX_MAX = 10_000  # samples queued before ``add`` folds them itself (the writer is late)
Key = tuple[int, str, str, int]  # step, host, metric, bucket start
PERSIST_CHUNK = 10_000  # rows made and upserted at a time
_PACKS: dict[int, Callable[..., bytes]] = {}  # values in a sample -> its doubles' packer

_HEAD = "INSERT INTO rollups(step, host, metric, ts, min, max, sum, count)"
_TAIL = """ON CONFLICT(step, host, metric, ts) DO UPDATE SET
    min = min(min, excluded.min), max = max(max, excluded.max),
    sum = sum + excluded.sum, count = count + excluded.count
"""


class Closed:
    """Buckets taken out of memory, as (step, start, {host: Columns}); ``rows()`` makes
    their rows one at a time, in the order ``take_closed`` gives them."""

    __slots__ = ("buckets",)

    def __init__(self, buckets: list[tuple[int, int, dict[str, Columns]]]) -> None:
        self.buckets = buckets

    def rows(self) -> Iterator[tuple[Any, ...]]:
        for step, start, bucket in self.buckets:
            for host, cols in bucket.items():
                for metric, b in cols.items():
                    yield (step, host, metric, start, *b)

    def __bool__(self) -> bool:
        return any(self.buckets)


class Rollups:
    """Open buckets live in memory as ``{(step, start): {host: Columns}}``.

    Only the minute bucket is touched per sample (one C-level fold per frame, see
    broker/store/columns.py); a minute is folded into its hour when it closes, so the hour
    costs nothing on the hot path.
    """

    def __init__(self, grace: float = 5.0, max_open: int = 500_000) -> None:
        self.grace = grace  # a bucket stays open this long after its end for late samples
        self.max_open = max_open  # series-buckets held in memory at most
        self._open: dict[tuple[int, int], dict[str, Columns]] = {}
        self._count = 0
        self._lock = threading.Lock()
        self._rejected = 0
        # Samples not folded yet, (host, names, values, ts): ``add`` (the ingest thread)
        # only appends here; whoever reads the buckets next (the store's writer, ten times
        # a second) folds them.
        self._inbox: deque[tuple[str, tuple[str, ...], bytes, float]] = deque()

    @property
    def rejected(self) -> int:
        self.fold_inbox()
        return self._rejected

    def add(self, host: str, metrics: Mapping[str, float], ts: float, checked: bool = False,
            names: tuple[str, ...] | None = None) -> None:
        """Queue a sample (the ingest hot path). Past INBOX_MAX queued, the caller folds.

        The values are packed here as doubles (``struct``, 0.35 us for 21), while the
        caller's thread has them in its cache, and the writer copies those bytes into the
        bucket's buffer: it never reads the frame's dict and floats, which the core
        thread made and keeps using on the other core (folding the frames themselves took
        36-51 ms per 10,000 samples in a single thread, about 90 in the broker: the
        writer's thread CPU at 10,000 samples a second, 84 % of it in the fold).

        ``checked``: every value is known to be a finite number (the broker's ingest
        validated the frame: ``Store.record_metrics``); otherwise the values are checked
        here and what is not finite is counted and left out. ``names``: ``tuple(metrics)``,
        when the caller has it (the ingest lane's shared tuple, broker/layout.py: then the
        writer's check that a frame has its bucket's names is an identity)."""
        if not checked:
            metrics = self._finite(metrics)
        n = len(metrics)
        pack = _PACKS.get(n) or remember(_PACKS, n, struct.Struct(f"{n}d").pack)
        self._inbox.append((host, names or tuple(metrics), pack(*metrics.values()), ts))
        if len(self._inbox) >= INBOX_MAX:
            self.fold_inbox()

    def _finite(self, metrics: Mapping[str, float]) -> Mapping[str, float]:
        try:
            if math.isfinite(sum(metrics.values())):  # NaN or inf make the sum so
                return metrics
        except (OverflowError, ValueError, TypeError):
            pass
        ok = {k: float(v) for k, v in metrics.items()
              if isinstance(v, int | float) and math.isfinite(v)}
        with self._lock:
            self._rejected += len(metrics) - len(ok)
        return ok

    def fold_inbox(self) -> None:
        """Fold every queued sample into its bucket; any thread (deque pops are atomic)."""
        inbox = self._inbox
        if not inbox:
            return
        pop, open_ = inbox.popleft, self._open
        with self._lock:
            minute, bucket = -1, {}
            while True:
                try:
                    host, names, vals, ts = pop()
                except IndexError:
                    return
                start = int(ts // 60) * 60
                if start != minute:
                    got = open_.get((60, start))
                    if got is None:
                        got = open_[(60, start)] = {}
                    minute, bucket = start, got
                cols = bucket.get(host)
                if cols is None:
                    cols = bucket[host] = Columns()
                if names is cols.keys or names == cols.keys:  # Columns.fold's common frame
                    cols.buf.frombytes(vals)  # one copy
                    cols.rows += 1
                    if cols.rows >= cols.limit:
                        cols.settle()
                    continue
                added, refused = cols.fold(dict(zip(names, array("d", vals), strict=True)),
                                           self.max_open - self._count)
                if added or refused:
                    self._count += added
                    self._rejected += refused

    def _merge(self, step: int, start: int, host: str, metric: str, row: list[float]) -> None:
        cols = self._open.setdefault((step, start), {}).setdefault(host, Columns())
        self._count += cols.merge(metric, row)

    def pending(self) -> int:
        self.fold_inbox()
        with self._lock:
            return self._count

    def has_closed(self, now: float) -> bool:
        self.fold_inbox()
        with self._lock:
            return any(start + step + self.grace <= now for step, start in self._open)

    def take_closed(self, now: float, everything: bool = False) -> list[tuple[Any, ...]]:
        """Remove and return the rows of buckets that ended more than ``grace`` ago (see
        ``take_closed_buckets``; this makes every row at once)."""
        return list(self.take_closed_buckets(now, everything).rows())

    def take_closed_buckets(self, now: float, everything: bool = False) -> Closed:
        """Remove the buckets that ended more than ``grace`` ago; their rows are made as
        they are read (``Closed.rows``): at 10,000 hosts a closing minute is 210,000 rows,
        about 40 MB as tuples at once, which left the broker's RSS 40 MB higher after
        every minute; the buckets themselves are a tenth of that.

        A closing minute is folded into its hour bucket, so hour rows count every sample
        once whatever order buckets close in. The lock that ``add`` (the ingest hot path)
        takes is held only to pop the buckets and, per host, to fold: never for the whole
        fleet at once (21k series took ~100 ms and stalled ingest at every minute).
        """
        self.fold_inbox()
        with self._lock:
            keys = [k for k in sorted(self._open)  # minutes (step 60) before hours (3600)
                    if everything or k[1] + k[0] + self.grace <= now]
            popped = [(k, self._open.pop(k)) for k in keys]
            for _, bucket in popped:
                self._count -= sum(len(cols) for cols in bucket.values())
        out: list[tuple[int, int, dict[str, Columns]]] = []
        hours = {start: bucket for (step, start), bucket in popped if step == 3600}
        for (step, start), bucket in popped:
            if step != 60:
                continue
            out.append((60, start, bucket))
            hour = start // 3600 * 3600
            taken = hours.get(hour)  # an hour closing in this same call takes it directly
            for host, cols in bucket.items():
                if taken is not None:
                    into = taken.get(host)
                    if into is None:
                        into = taken[host] = Columns()
                    into.merge_all(cols)
                else:
                    with self._lock:
                        target = self._open.setdefault((3600, hour), {})
                        into = target.get(host)
                        if into is None:
                            into = target[host] = Columns()
                        self._count += into.merge_all(cols)
        out.extend((3600, start, bucket) for start, bucket in hours.items())
        if everything:  # the hours just made from the last minutes
            with self._lock:
                rest, self._open, self._count = self._open, {}, 0
            out.extend((step, start, bucket) for (step, start), bucket in sorted(rest.items()))
        return Closed(out)

    def put_back(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Return rows whose write failed, merging with anything that arrived since.

        Minute rows were already folded into their hour when taken: put back, they count
        in the hour again, so their hour share is taken out of the hour bucket first.
        """
        self.fold_inbox()
        with self._lock:
            for step, host, metric, ts, mn, mx, sm, n in rows:
                if step == 60:
                    hour = self._open.get((3600, ts // 3600 * 3600), {}).get(host)
                    if hour is not None:
                        hour.subtract(metric, sm, n)
                self._merge(step, ts, host, metric, [mn, mx, sm, n])

    def open_rows(self, step: int, lo: int, hi: int) -> list[tuple[str, str, int, float, int]]:
        """(host, metric, bucket start, sum, count) of the buckets still in memory whose
        start is in [lo, hi] at ``step`` (rewind's overlay of the minutes not yet written)."""
        self.fold_inbox()
        out: list[tuple[str, str, int, float, int]] = []
        with self._lock:
            for (kstep, start), bucket in self._open.items():
                if kstep != step or not lo <= start <= hi:
                    continue
                for host, cols in bucket.items():
                    out.extend((host, metric, start, b[2], int(b[3])) for metric, b in cols.items())
        return out

    def oldest_open(self, step: int) -> int | None:
        """The start of the oldest bucket of ``step`` still in memory, if any."""
        with self._lock:
            return min((start for kstep, start in self._open if kstep == step), default=None)

    @staticmethod
    def persist(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
        """Upsert rows, PERSIST_CHUNK at a time (so a lazy ``Closed.rows()`` is never
        made whole)."""
        it = iter(rows)
        while chunk := list(islice(it, PERSIST_CHUNK)):
            insert_rows(conn, _HEAD, chunk, 8, _TAIL)

    def history(self, conn: sqlite3.Connection, host: str, metric: str, since: float,
                until: float, step: str = "1m") -> list[dict[str, float]]:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r} (steps: {', '.join(STEPS)})")
        s = STEPS[step]
        self.fold_inbox()
        lo = int(since // s) * s
        merged: dict[int, list[float]] = {}
        for ts, mn, mx, sm, n in conn.execute(
                "SELECT ts, min, max, sum, count FROM rollups WHERE step = ? AND host = ? "
                "AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts", (s, host, metric, lo, until)):
            merged[ts] = [mn, mx, sm, n]
        with self._lock:
            for (kstep, start), bucket in self._open.items():
                cols = bucket.get(host)
                b = cols.item(metric) if cols is not None else None
                ts = start // s * s
                if b is None or kstep > s or not lo <= ts < until:
                    continue
                m = merged.get(ts)
                merged[ts] = list(b) if m is None else [
                    min(m[0], b[0]), max(m[1], b[1]), m[2] + b[2], m[3] + b[3]]
        return [{"ts": float(ts), "min": mn, "avg": sm / n, "max": mx, "count": int(n)}
                for ts, (mn, mx, sm, n) in sorted(merged.items())]


def prune(conn: sqlite3.Connection, step: int, older_than: float) -> int:
    return conn.execute("DELETE FROM rollups WHERE step = ? AND ts < ?",
                        (step, older_than)).rowcount
