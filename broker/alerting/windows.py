"""Per-series memory for rule evaluation: sliding windows and trends (anomaly baselines
live in broker/alerting/robust.py).

All of it is bounded: a window keeps at most ``MAX_POINTS`` points whatever the sample
rate, a trend keeps ``TREND_BUCKETS`` bucket means however long its window is.
"""

from __future__ import annotations

from array import array
from itertools import cycle

MAX_POINTS = 4096
TREND_BUCKETS = 60
TREND_MIN_POINTS = 5
_CUTS = cycle([(16 + k) / 32 for k in range(17)])  # 0.5 ... 1.0, one after the other


class Window:
    """The (time, value) points of the last ``span`` seconds, for avg|max|min|p95|rate.

    Flat: two ``array('d')`` (8 bytes a number) with a start offset; points fall off the
    front by moving ``head``, and the dead front is cut off once it is ``cut`` (1/2 to 1) of
    the live points. A deque of float objects cost about 64 bytes a point (two slots, two
    floats), this about 16 to 32: a 2-minute window at 1 Hz, about 2.5 KB instead of 9 KB.

    ``cut`` differs from window to window (``_CUTS``): a fleet's windows are made within
    seconds of each other and move in step, and with one fraction for all (the dead front
    cut at half the array) all 10,000 hosts' windows were cut in the same second, every
    2 minutes: a 20 MB swing of the broker's heap (the arrays shrunk, then grew back
    together) and a burst of work in one tick. Staggered, they are cut a few at a time.
    """

    __slots__ = ("span", "ts", "vs", "head", "total", "cut")

    def __init__(self, span: float) -> None:
        self.span = span
        self.cut = next(_CUTS)
        self.ts = array("d")
        self.vs = array("d")
        self.head = 0  # the oldest live point; ts[:head] is dead
        self.total = 0.0  # running sum of the live vs, for avg in O(1)

    def __len__(self) -> int:
        return len(self.ts) - self.head

    def add(self, t: float, v: float) -> None:
        if len(self.ts) - self.head >= MAX_POINTS:
            self.total -= self.vs[self.head]
            self.head += 1
        self.ts.append(t)
        self.vs.append(v)
        self.total += v
        self.expire(t)

    def expire(self, now: float) -> None:
        ts, cutoff, head = self.ts, now - self.span, self.head
        n = len(ts)
        while head < n and ts[head] < cutoff:
            self.total -= self.vs[head]
            head += 1
        if head == n:
            self.total = 0.0
        if head > 32 and head >= (n - head) * self.cut:
            del ts[:head], self.vs[:head]
            head = 0
        self.head = head

    def live(self) -> array[float]:
        """The live values, oldest first (a copy)."""
        return self.vs[self.head:]

    def agg(self, how: str) -> float:
        if how == "avg":
            return self.total / (len(self.vs) - self.head)
        if how == "max":
            return max(self.live())
        if how == "min":
            return min(self.live())
        if how == "p95":
            return percentile(sorted(self.live()), 0.95)
        return self.vs[-1]

    def rate(self) -> float | None:
        """Change per second between the oldest and newest point, None with < 2 points."""
        if len(self.ts) - self.head < 2:
            return None
        dt = self.ts[-1] - self.ts[self.head]
        return (self.vs[-1] - self.vs[self.head]) / dt if dt > 0 else None


def percentile(ordered: list[float], q: float) -> float:
    """Linear-interpolated percentile of an already sorted, non-empty list."""
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class Trend:
    """Bucket means over ``span`` seconds and a least-squares line through them.

    ``add`` returns True when it closed a bucket: the forecast is re-evaluated only then,
    so a 1 h window costs one regression a minute, not one per sample.
    """

    __slots__ = ("span", "step", "buckets", "pt", "pv", "b_start", "b_n", "b_t", "b_v")

    def __init__(self, span: float, buckets: int = TREND_BUCKETS) -> None:
        self.span = span
        self.step = span / buckets
        self.buckets = buckets
        # bucket means, oldest first: flat arrays (8 bytes a number, not a tuple of floats)
        self.pt = array("d")
        self.pv = array("d")
        self.b_start: float | None = None
        self.b_n = 0
        self.b_t = 0.0
        self.b_v = 0.0

    def add(self, t: float, v: float) -> bool:
        start = self.b_start
        if start is None:
            self.b_start = t
        elif t - start >= self.step:
            return self._close(t, v)
        self.b_n += 1
        self.b_t += t
        self.b_v += v
        return False

    def _close(self, t: float, v: float) -> bool:
        """Close the open bucket and open the next with (t, v). Bucket means older than
        ``span`` are dropped here only: they matter to ``predict``, which is called when a
        bucket closes (the drop once a sample cost 2 of a forecast's 5 steps a sample)."""
        self.pt.append(self.b_t / self.b_n)
        self.pv.append(self.b_v / self.b_n)
        if len(self.pt) > self.buckets:
            del self.pt[0], self.pv[0]
        self.b_start, self.b_n, self.b_t, self.b_v = t, 1, 0.0 + t, 0.0 + v
        cutoff = t - self.span
        while self.pt and self.pt[0] < cutoff:
            del self.pt[0], self.pv[0]
        return True

    def predict(self, at: float) -> float | None:
        """The fitted line's value at time ``at``; None with too few points or no spread."""
        pt, pv = self.pt, self.pv
        n = len(pt)
        if n < TREND_MIN_POINTS:
            return None
        mt = sum(pt) / n
        mv = sum(pv) / n
        sxx = sum((t - mt) ** 2 for t in pt)
        if sxx <= 0:
            return None
        slope = sum((t - mt) * (v - mv) for t, v in zip(pt, pv, strict=True)) / sxx
        return mv + slope * (at - mt)
