"""Metric rollups: 1 min and 1 h min/avg/max/count per (host, metric) series.

``Rollups.add`` runs on the ingest hot path: it only folds the sample into in-memory
buckets under a lock. The store's writer calls ``take_closed`` and persists what it gets
with an upsert that merges (min of mins, sum of sums...), so a late sample that lands in a
bucket already written is merged, never lost. ``history`` reads the persisted buckets and
overlays the ones still in memory, so a chart shows the current minute too.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from typing import Any

STEPS = {"1m": 60, "1h": 3600}
Key = tuple[int, str, str, int]  # step, host, metric, bucket start

UPSERT = """
INSERT INTO rollups(step, host, metric, ts, min, max, sum, count) VALUES (?,?,?,?,?,?,?,?)
ON CONFLICT(step, host, metric, ts) DO UPDATE SET
    min = min(min, excluded.min), max = max(max, excluded.max),
    sum = sum + excluded.sum, count = count + excluded.count
"""


class Rollups:
    def __init__(self, grace: float = 5.0, max_open: int = 500_000) -> None:
        self.grace = grace  # a bucket stays open this long after its end for late samples
        self.max_open = max_open
        self._open: dict[Key, list[float]] = {}
        self._lock = threading.Lock()
        self.rejected = 0

    def add(self, host: str, metrics: dict[str, float], ts: float) -> None:
        with self._lock:
            for name, value in metrics.items():
                v = float(value)
                if not math.isfinite(v):
                    self.rejected += 1
                    continue
                for step in (60, 3600):
                    key = (step, host, name, int(ts // step) * step)
                    b = self._open.get(key)
                    if b is None:
                        if len(self._open) >= self.max_open:
                            self.rejected += 1
                            continue
                        self._open[key] = [v, v, v, 1]
                    else:
                        if v < b[0]:
                            b[0] = v
                        if v > b[1]:
                            b[1] = v
                        b[2] += v
                        b[3] += 1

    def pending(self) -> int:
        with self._lock:
            return len(self._open)

    def has_closed(self, now: float) -> bool:
        with self._lock:
            return any(k[3] + k[0] + self.grace <= now for k in self._open)

    def take_closed(self, now: float, everything: bool = False) -> list[tuple[Any, ...]]:
        """Remove and return the rows of buckets that ended more than ``grace`` ago."""
        with self._lock:
            done = [k for k in self._open
                    if everything or k[3] + k[0] + self.grace <= now]
            return [(*k, *self._open.pop(k)) for k in done]

    def put_back(self, rows: list[tuple[Any, ...]]) -> None:
        """Return rows whose write failed, merging with anything that arrived since."""
        with self._lock:
            for step, host, metric, ts, mn, mx, sm, n in rows:
                b = self._open.get((step, host, metric, ts))
                if b is None:
                    self._open[(step, host, metric, ts)] = [mn, mx, sm, n]
                else:
                    b[0], b[1], b[2], b[3] = min(b[0], mn), max(b[1], mx), b[2] + sm, b[3] + n

    @staticmethod
    def persist(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        conn.executemany(UPSERT, rows)

    def history(self, conn: sqlite3.Connection, host: str, metric: str, since: float,
                until: float, step: str = "1m") -> list[dict[str, float]]:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r} (steps: {', '.join(STEPS)})")
        s = STEPS[step]
        lo = int(since // s) * s
        merged: dict[int, list[float]] = {}
        for ts, mn, mx, sm, n in conn.execute(
                "SELECT ts, min, max, sum, count FROM rollups WHERE step = ? AND host = ? "
                "AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts", (s, host, metric, lo, until)):
            merged[ts] = [mn, mx, sm, n]
        with self._lock:
            for (kstep, khost, kmetric, ts), b in self._open.items():
                if kstep == s and khost == host and kmetric == metric and lo <= ts < until:
                    m = merged.get(ts)
                    merged[ts] = list(b) if m is None else [
                        min(m[0], b[0]), max(m[1], b[1]), m[2] + b[2], m[3] + b[3]]
        return [{"ts": float(ts), "min": mn, "avg": sm / n, "max": mx, "count": int(n)}
                for ts, (mn, mx, sm, n) in sorted(merged.items())]


def prune(conn: sqlite3.Connection, step: int, older_than: float) -> int:
    return conn.execute("DELETE FROM rollups WHERE step = ? AND ts < ?",
                        (step, older_than)).rowcount
