"""The anomaly detector's memory: a robust baseline, a level-shift CUSUM and a daily profile.

``RobustDetector.step(t, x)`` judges one sample and returns ``(spike_z, shift)``:

- **Baseline**: the median and MAD (scaled to a standard deviation) of the last ``window``
  accepted samples, refreshed every few samples. A sample that scores as anomalous is not
  accepted as it is: it enters the history clipped to the edge of the normal band, so the
  anomaly never widens the band that judges it (a plain mean/variance learns the anomaly
  and lets it go within a few samples). While a shift alarm holds, samples are not accepted
  at all; a shift that lasts as long as the whole history becomes the new normal.
- **Level shift**: a two-sided CUSUM of the robust z-scores (clipped, slack ``CUSUM_K``)
  that alarms at ``CUSUM_H``: a sustained 6-sigma step alarms on its second sample and
  stays alarmed while the shift lasts, a 2-sigma one within about ten samples.
- **Season**: with three days of history, the median of each hour of the day (from the
  previous days) is subtracted first, when that makes the residuals tighter; with three
  weeks, each hour of the week. Before that, and for series with no daily pattern, the
  detector works on the values themselves.

Everything is bounded: ``window`` values, 168 x ``SEASON_DAYS`` hourly medians and one
hour of samples (at most ``HOUR_CAP`` kept).
"""

from __future__ import annotations

from collections import deque
from typing import Any

MAD_TO_SIGMA = 1.4826
CUSUM_K = 1.0          # slack in sigmas: shifts smaller than this are not accumulated
CUSUM_H = 8.0          # default alarm level
CUSUM_CAP = 1.25       # ceiling (x alarm level): an alarm ends soon after the shift does
TAIL_Q, TAIL_Z = 0.05, 1.645  # the tail quantile and its Gaussian z
REL_FLOOR = 1e-3       # sigma is never below this fraction of the median's magnitude
REFRESH = 4            # recompute median/MAD every this many accepted samples
SEASON_MIN_DAYS = 3
SEASON_DAYS = 8
HOUR_CAP = 240
MEMORY_H = 72          # hours of raw extremes behind the novelty test
DAY_S, WEEK_S, HOUR_S = 86400.0, 604800.0, 3600.0


def median(sorted_vs: list[float]) -> float:
    n = len(sorted_vs)
    h = n // 2
    return sorted_vs[h] if n % 2 else 0.5 * (sorted_vs[h - 1] + sorted_vs[h])


def spread(vs: list[float], med: float) -> float:
    """Robust standard deviation: 1.4826 x MAD, or 1.2533 x the mean absolute deviation
    when more than half the values sit on the median (quantised or mostly idle series)."""
    dev = sorted(abs(v - med) for v in vs)
    mad = median(dev)
    if mad > 0:
        return MAD_TO_SIGMA * mad
    return 1.2533 * sum(dev) / len(dev)


def tails(vs: list[float]) -> tuple[float, float, float]:
    """(median, spread below, spread above): each side's spread is the distance from the
    median to its TAIL_Q quantile in Gaussian sigmas, and never less than the symmetric
    robust spread, so a skewed or spiky series gets a wider band on its heavy side."""
    o = sorted(vs)
    med = median(o)
    sym = spread(o, med)
    n = len(o) - 1
    lo, hi = o[int(n * TAIL_Q)], o[n - int(n * TAIL_Q)]
    return med, max((med - lo) / TAIL_Z, sym), max((hi - med) / TAIL_Z, sym)


class Season:
    """Hourly medians by hour of day and hour of week, learned as the hours close."""

    __slots__ = ("first", "hour", "cur", "stride", "seen", "days", "weeks", "lo", "hi",
                 "seen_lo", "seen_hi", "ehour")

    def __init__(self) -> None:
        self.first: float | None = None
        self.hour: int | None = None  # absolute hour number of ``cur``
        self.cur: list[float] = []
        self.stride = 0
        self.seen = 0
        self.days: list[deque[float]] = [deque(maxlen=SEASON_DAYS) for _ in range(24)]
        self.weeks: list[deque[float]] = [deque(maxlen=SEASON_DAYS) for _ in range(168)]
        self.lo = self.hi = 0.0  # the current hour's raw extremes
        self.ehour: int | None = None
        self.seen_lo: deque[float] = deque(maxlen=MEMORY_H)  # per closed hour
        self.seen_hi: deque[float] = deque(maxlen=MEMORY_H)

    def extremes(self, t: float, x: float) -> None:
        """Record a raw value (anomalous or not) for the novelty test."""
        h = int(t // HOUR_S)
        if h != self.ehour:
            if self.ehour is not None:
                self.seen_lo.append(self.lo)
                self.seen_hi.append(self.hi)
            self.ehour, self.lo, self.hi = h, x, x
        self.lo, self.hi = min(self.lo, x), max(self.hi, x)

    def novel(self, x: float, up: bool, margin: float) -> bool:
        """True when ``x`` is beyond (by ``margin``) every value of the closed hours kept."""
        if up:
            return not self.seen_hi or x > max(self.seen_hi) + margin
        return not self.seen_lo or x < min(self.seen_lo) - margin

    def add(self, t: float, x: float) -> None:
        if self.first is None:
            self.first = t
        h = int(t // HOUR_S)
        if h != self.hour:
            if self.cur and self.hour is not None:
                m = median(sorted(self.cur))
                self.days[self.hour % 24].append(m)
                self.weeks[self.hour % 168].append(m)
            self.hour, self.cur, self.seen = h, [], 0
        self.seen += 1
        if len(self.cur) < HOUR_CAP:
            self.cur.append(x)
        elif self.seen % 7 == 0:  # a fast series: keep a spread-out sample of the hour
            self.cur[(self.seen // 7) % HOUR_CAP] = x

    def expected(self, t: float) -> float | None:
        """The seasonal level at ``t``, None while the history is too short."""
        if self.first is None:
            return None
        age = t - self.first
        h = int(t // HOUR_S)
        if age >= 3 * WEEK_S and len(self.weeks[h % 168]) >= 2:
            return median(sorted(self.weeks[h % 168]))
        if age >= SEASON_MIN_DAYS * DAY_S and len(self.days[h % 24]) >= SEASON_MIN_DAYS - 1:
            return median(sorted(self.days[h % 24]))
        return None


class RobustDetector:
    __slots__ = ("window", "min_sd", "zclip", "h", "hist", "n", "med", "s_lo", "s_hi", "scale",
                 "pending", "up", "down", "held", "season", "use_season", "last")

    def __init__(self, window: int, min_sd: float, zclip: float, h: float = CUSUM_H) -> None:
        self.window = window
        self.h = h                    # CUSUM alarm level
        self.min_sd = min_sd
        self.zclip = zclip            # accepted samples are clipped to med +- zclip * sd
        self.hist: deque[tuple[float, float]] = deque(maxlen=window)
        self.n = 0                    # samples learned so far
        self.med = 0.0
        self.s_lo = 0.0               # spread below and above the median, as sigmas
        self.s_hi = 0.0
        self.scale = 0.0              # |median| of the raw values, for the relative floor
        self.pending = 0              # accepted since the last refresh
        self.up = 0.0                 # CUSUM of upward, downward shift
        self.down = 0.0
        self.held: list[tuple[float, float]] = []  # samples seen while a shift alarm holds
        self.season = Season()
        self.use_season = False
        self.last = 0.0               # the latest value judged

    # ------------------------------------------------------------ the baseline

    def level(self, t: float) -> float:
        """The expected value at ``t`` (seasonal level plus the residual median)."""
        s = self.season.expected(t) if self.use_season else None
        return self.med + (s or 0.0)

    def refresh(self) -> None:
        pts = self.hist
        raw = [x for _, x in pts]
        self.scale = abs(median(sorted(raw)))
        stats = tails(raw)
        self.use_season = False
        res: list[float] = []
        for t, x in pts:
            s = self.season.expected(t)
            if s is None:
                break
            res.append(x - s)
        if len(res) == len(raw) and res:
            rstats = tails(res)
            if rstats[1] + rstats[2] < 0.8 * (stats[1] + stats[2]):
                self.use_season = True
                stats = rstats
        self.med, self.s_lo, self.s_hi = stats

    def sigma(self, up: bool = True) -> float:
        return max(self.s_hi if up else self.s_lo, self.min_sd, REL_FLOOR * self.scale, 1e-9)

    # ------------------------------------------------------------ one sample

    def step(self, t: float, x: float, ready: bool) -> tuple[float, float, bool]:
        """Judge ``x`` (when ``ready``) and learn from it. Returns (z, signed CUSUM, novel):
        the CUSUM is positive for an upward shift, negative for a downward one; ``novel``
        says ``x`` is beyond what the last MEMORY_H hours held (by one sigma)."""
        self.last = x
        z = 0.0
        shift = 0.0
        novel = True
        self.season.extremes(t, x)
        if ready and self.hist:
            s = self.season.expected(t) if self.use_season else None
            base = self.med + (s or 0.0)
            sd = self.sigma(x >= base)
            z = (x - base) / sd
            novel = self.season.novel(x, x >= base, sd)
            cap = self.h / 2 + CUSUM_K  # one sample alone never reaches the alarm
            zc = max(-cap, min(cap, z))
            top = self.h * CUSUM_CAP
            self.up = min(top, max(0.0, self.up + zc - CUSUM_K))
            self.down = min(top, max(0.0, self.down - zc - CUSUM_K))
            shift = self.up if self.up >= self.down else -self.down
            if abs(shift) >= self.h:
                self.held.append((t, x))
                if len(self.held) >= self.window:  # the shift is the new normal
                    self.hist.clear()
                    self.hist.extend(self.held)
                    self.held, self.up, self.down = [], 0.0, 0.0
                    self.refresh()
                return z, shift, novel
            self.held = []
            x = max(base - self.zclip * self.sigma(False),
                    min(base + self.zclip * self.sigma(True), x))
        self.season.add(t, x)
        self.hist.append((t, x))
        self.n += 1
        self.pending += 1
        if self.pending >= REFRESH or self.n <= self.window // 4 or len(self.hist) < 8:
            self.pending = 0
            self.refresh()
        return z, shift, novel

    def band(self, t: float, k: float) -> tuple[float, float]:
        """The normal band at ``t``: expected level +- ``k`` sigmas."""
        base = self.level(t)
        return base - k * self.sigma(False), base + k * self.sigma(True)

    # ------------------------------------------------------------ persistence

    def dump(self) -> dict[str, Any]:
        return {"hist": [list(p) for p in self.hist], "n": self.n, "up": self.up,
                "down": self.down, "first": self.season.first,
                "days": [list(d) for d in self.season.days],
                "weeks": [list(w) for w in self.season.weeks]}

    def load(self, data: Any) -> None:
        if not isinstance(data, dict):
            return  # an old EWMA baseline: learn again
        self.hist.clear()
        self.hist.extend((float(t), float(x)) for t, x in data.get("hist", []))
        self.n = int(data.get("n", len(self.hist)))
        self.up, self.down = float(data.get("up", 0.0)), float(data.get("down", 0.0))
        self.season.first = data.get("first")
        for d, vs in zip(self.season.days, data.get("days", []), strict=False):
            d.extend(vs)
        for w, vs in zip(self.season.weeks, data.get("weeks", []), strict=False):
            w.extend(vs)
        if self.hist:
            self.refresh()
