"""The anomaly detector's daily and weekly profile: hourly medians by hour of day and week.

``Season.add(t, x)`` collects an hour's values and, when the hour closes, files their
median under its hour of the day and of the week (the last ``SEASON_DAYS`` of each).
``expected(t)`` is the level for ``t`` once three days were seen (by hour of the week once
three weeks were), interpolated between the middles of adjacent hours. Bounded: 192 slots
of ``SEASON_DAYS`` medians and one hour of values (at most ``HOUR_CAP``).
"""

from __future__ import annotations

from collections import deque

SEASON_MIN_DAYS = 3
SEASON_DAYS = 8
HOUR_CAP = 240
DAY_S, WEEK_S, HOUR_S = 86400.0, 604800.0, 3600.0


def median(sorted_vs: list[float]) -> float:
    n = len(sorted_vs)
    h = n // 2
    return sorted_vs[h] if n % 2 else 0.5 * (sorted_vs[h - 1] + sorted_vs[h])


class Season:
    """Hourly medians by hour of day and hour of week, learned as the hours close."""

    __slots__ = ("first", "hour", "cur", "seen", "days", "weeks", "day_med", "week_med")

    def __init__(self) -> None:
        self.first: float | None = None
        self.hour: int | None = None  # absolute hour number of ``cur``
        self.cur: list[float] = []
        self.seen = 0
        self.days: list[deque[float]] = [deque(maxlen=SEASON_DAYS) for _ in range(24)]
        self.weeks: list[deque[float]] = [deque(maxlen=SEASON_DAYS) for _ in range(168)]
        self.day_med: list[float | None] = [None] * 24    # medians of the above, kept
        self.week_med: list[float | None] = [None] * 168  # current as the hours close

    def add(self, t: float, x: float) -> None:
        if self.first is None:
            self.first = t
        h = int(t // HOUR_S)
        if h != self.hour:
            if self.cur and self.hour is not None:
                m = median(sorted(self.cur))
                d, w = self.hour % 24, self.hour % 168
                self.days[d].append(m)
                self.weeks[w].append(m)
                self.day_med[d] = (median(sorted(self.days[d]))
                                   if len(self.days[d]) >= SEASON_MIN_DAYS - 1 else None)
                self.week_med[w] = median(sorted(self.weeks[w])) if len(self.weeks[w]) >= 2 \
                    else None
            self.hour, self.cur, self.seen = h, [], 0
        self.seen += 1
        if len(self.cur) < HOUR_CAP:
            self.cur.append(x)
        elif self.seen % 7 == 0:  # a fast series: keep a spread-out sample of the hour
            self.cur[(self.seen // 7) % HOUR_CAP] = x

    def expected(self, t: float) -> float | None:
        """The seasonal level at ``t``, None while the history is too short: the hourly
        medians of the same hour on earlier days (weeks), interpolated linearly between
        the middles of adjacent hours so a steep daily slope is followed within the hour."""
        if self.first is None or t - self.first < SEASON_MIN_DAYS * DAY_S:
            return None
        pos = t / HOUR_S - 0.5
        h = int(pos // 1)
        a, b = self.slot(h, t), self.slot(h + 1, t)
        if a is None or b is None:
            return a if b is None else b
        f = pos - h
        return a + (b - a) * f

    def slot(self, h: int, t: float) -> float | None:
        w = self.week_med[h % 168]
        if w is not None and t - (self.first or t) >= 3 * WEEK_S:
            return w
        return self.day_med[h % 24]
