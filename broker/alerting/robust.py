"""The anomaly detector's memory: a robust baseline, a level-shift CUSUM and a daily profile.

``RobustDetector.step(t, x, ready)`` judges one sample and returns ``(z, shift, novel)``:

- **Baseline**: the median of the last ``window`` accepted samples and, on each side of
  it, a spread in sigmas (the distance to the 5 % / 95 % quantile, never less than 1.4826 x
  the MAD), refreshed every few samples: a skewed or spiky series gets a wider band on its
  heavy side instead of alerting on its usual spikes. A sample that scores as anomalous is not
  accepted as it is: it enters the history clipped to the edge of the normal band, so the
  anomaly never widens the band that judges it (a plain mean/variance learns the anomaly
  and lets it go within a few samples). While a shift alarm holds, samples are not accepted
  at all; a shift that lasts ``window`` samples and six hours becomes the new normal.
- **Level shift**: a two-sided CUSUM of the robust z-scores (clipped, slack ``CUSUM_K``)
  that alarms at ``CUSUM_H`` (scaled with the sensitivity): a sustained 4-sigma step alarms
  on its second sample and stays alarmed while the shift lasts; it ends a few samples after.
- **Novelty** (broker/alerting/novelty.py): an alert starts only on a value, or a level,
  beyond what the last three days have had.
- **Season** (broker/alerting/season.py): with three days of history, the level of the
  same hour on earlier days is subtracted first, when that makes the residuals at least
  20 % tighter; with three weeks, of the same hour of the week. Before that, and for series
  with no daily pattern, the detector works on the values themselves.

Everything is bounded: ``window`` values and held samples, the season's hourly medians and
the novelty memory's hourly extremes.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from broker.alerting.novelty import Memory
from broker.alerting.season import HOUR_S, SEASON_MIN_DAYS, Season, median

MAD_TO_SIGMA = 1.4826
CUSUM_K = 0.5          # slack in sigmas: shifts smaller than this are not accumulated
CUSUM_H = 8.0          # default alarm level
CUSUM_CAP = 1.25       # ceiling (x alarm level): an alarm ends soon after the shift does
TAIL_Q, TAIL_Z = 0.05, 1.645  # the tail quantile and its Gaussian z
REL_FLOOR = 1e-3       # sigma is never below this fraction of the median's magnitude
REFRESH = 16           # recompute median and quantiles every this many accepted samples
ADOPT_S = 6 * 3600.0   # a shift is the new normal once it lasted this and ``window`` samples


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


class RobustDetector:
    __slots__ = ("window", "min_sd", "zclip", "h", "hist", "n", "med", "s_lo", "s_hi", "scale",
                 "pending", "up", "down", "held", "held_since", "season", "use_season", "last", "recent", "raw_mem",
                 "res_mem")

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
        # the latest samples seen while a shift alarm holds, and since when it holds
        self.held: deque[tuple[float, float]] = deque(maxlen=window)
        self.held_since: float | None = None
        self.season = Season()
        self.use_season = False
        self.last = 0.0               # the latest value judged
        self.recent: deque[float] = deque(maxlen=3)  # the latest values
        self.raw_mem = Memory()       # novelty of the values, and of the seasonal residuals
        self.res_mem = Memory()

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
        """Judge ``x`` (when ``ready``) and learn from it. Returns (z, shift, novel): the
        signed CUSUM while a shift alarm holds (positive upwards, else 0), and whether
        ``x`` is beyond the values of the last days (broker/alerting/novelty.py) by a
        sigma. A shift alarms only on a level the last days have not had."""
        self.last = x
        z = 0.0
        shift = 0.0
        novel = new_level = True
        r = self.recent
        r.append(x)
        m3 = sorted(r)[1] if len(r) == 3 else x  # the median of the last three
        s_now = self.season.expected(t)
        if ready and self.hist:
            base = self.med + (s_now or 0.0 if self.use_season else 0.0)
            sd = self.sigma(x >= base)
            z = (x - base) / sd
            if self.use_season and s_now is not None and len(self.res_mem) >= 24:
                novel, new_level = self.res_mem.novel(x - s_now, m3 - s_now, z >= 0, sd)
            else:
                novel, new_level = self.raw_mem.novel(x, m3, z >= 0, sd)
        self.raw_mem.add(t, x, m3)
        if s_now is not None:
            self.res_mem.add(t, x - s_now, m3 - s_now)
        if ready and self.hist:
            cap = self.h / 2 + CUSUM_K  # one sample alone never reaches the alarm
            zc = max(-cap, min(cap, z))
            top = self.h * CUSUM_CAP
            self.up = min(top, max(0.0, self.up + zc - CUSUM_K))
            self.down = min(top, max(0.0, self.down - zc - CUSUM_K))
            shift = self.up if self.up >= self.down else -self.down
            if abs(shift) >= self.h and self.held_since is None and not new_level:
                self.up = self.down = shift = 0.0  # a level the last days have had: no news
            if abs(shift) >= self.h:
                self.hold(t, x)
                self.season.add(t, x)
                return z, shift, novel
            self.held.clear()
            self.held_since = None
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

    def hold(self, t: float, x: float) -> None:
        """A shift alarm holds: keep ``x`` out of the baseline, unless the shift has lasted
        ``window`` samples and ADOPT_S, when it becomes the new normal."""
        held = self.held
        held.append((t, x))
        if self.held_since is None:
            self.held_since = t
        if len(held) >= self.window and t - self.held_since >= ADOPT_S:
            self.hist.clear()
            self.hist.extend(held)
            held.clear()
            self.held_since, self.up, self.down = None, 0.0, 0.0
            self.refresh()

    def band(self, t: float, k: float) -> tuple[float, float]:
        """The normal band at ``t``: expected level +- ``k`` sigmas."""
        base = self.level(t)
        return base - k * self.sigma(False), base + k * self.sigma(True)

    # ------------------------------------------------------------ seeding

    @property
    def fresh(self) -> bool:
        return self.n == 0 and not self.raw_mem and self.season.first is None

    def seed(self, hours: list[tuple[float, float, float, float, float]]) -> None:
        """Learn the seasonal profile and the novelty memory from the store's rollups, so a
        restarted broker (or a new rule) need not wait days: ``hours`` are
        (hour start, min, avg, max, count) oldest first. The hour's min and max stand for
        both novelty memories, so a held level must go beyond the hour's extremes, as a
        spike must."""
        se = self.season
        for start, lo, avg, hi, _ in hours:
            h = int(start // HOUR_S)
            if se.first is None:
                se.first = start
            d, w = h % 24, h % 168
            se.days[d].append(avg)
            se.weeks[w].append(avg)
            se.day_med[d] = median(sorted(se.days[d])) if len(se.days[d]) >= SEASON_MIN_DAYS - 1 \
                else None
            se.week_med[w] = median(sorted(se.weeks[w])) if len(se.weeks[w]) >= 2 else None
            self.raw_mem.seed(lo, hi)

    # ------------------------------------------------------------ persistence

    def dump(self) -> dict[str, Any]:
        return {"hist": [list(p) for p in self.hist], "n": self.n, "up": self.up,
                "down": self.down, "first": self.season.first,
                "raw_mem": self.raw_mem.dump(), "res_mem": self.res_mem.dump(),
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
        self.raw_mem.load(data.get("raw_mem") or [])
        self.res_mem.load(data.get("res_mem") or [])
        se = self.season
        for i, (d, vs) in enumerate(zip(se.days, data.get("days", []), strict=False)):
            d.extend(vs)
            se.day_med[i] = median(sorted(d)) if len(d) >= SEASON_MIN_DAYS - 1 else None
        for i, (w, vs) in enumerate(zip(se.weeks, data.get("weeks", []), strict=False)):
            w.extend(vs)
            se.week_med[i] = median(sorted(w)) if len(w) >= 2 else None
        if self.hist:
            self.refresh()
