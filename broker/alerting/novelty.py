"""The anomaly detector's novelty test: has the last few days seen a value like this?

Real series repeat their oddities: a nightly job pegs the CPU, a backup writes 400 MB/s
for ten minutes, a chatty client sends a burst every 50 minutes. Judged against the median
and spread of the last hours alone, each of these is an anomaly every time. ``Memory``
keeps, for each of the last ``MEMORY_H`` closed hours, the lowest and highest value and
the lowest and highest median of three consecutive values (a level held, not a spike); an
alert starts only when the value (a spike) or the median of three (a shift) goes beyond
all of them by a margin. The current hour is never part of the memory, so an anomaly does
not excuse itself; once its hour closes it is part of what is normal for the next days.
"""

from __future__ import annotations

from collections import deque

HOUR_S = 3600.0
MEMORY_H = 72          # hours of extremes behind the novelty test


class Memory:
    __slots__ = ("hour", "lo", "hi", "mlo", "mhi", "los", "his", "mlos", "mhis")

    def __init__(self) -> None:
        self.hour: int | None = None
        self.lo = self.hi = self.mlo = self.mhi = 0.0  # the current hour's extremes
        self.los: deque[float] = deque(maxlen=MEMORY_H)  # one entry per closed hour
        self.his: deque[float] = deque(maxlen=MEMORY_H)
        self.mlos: deque[float] = deque(maxlen=MEMORY_H)
        self.mhis: deque[float] = deque(maxlen=MEMORY_H)

    def __len__(self) -> int:
        return len(self.his)

    def add(self, t: float, x: float, m3: float) -> None:
        """Record a value (anomalous or not) and the median of the last three."""
        h = int(t // HOUR_S)
        if h != self.hour:
            if self.hour is not None:
                self.los.append(self.lo)
                self.his.append(self.hi)
                self.mlos.append(self.mlo)
                self.mhis.append(self.mhi)
            self.hour, self.lo, self.hi, self.mlo, self.mhi = h, x, x, m3, m3
        self.lo, self.hi = min(self.lo, x), max(self.hi, x)
        self.mlo, self.mhi = min(self.mlo, m3), max(self.mhi, m3)

    def novel(self, x: float, m3: float, up: bool, margin: float) -> tuple[bool, bool]:
        """(``x`` is beyond every value kept, ``m3`` beyond every median of three kept),
        upwards or downwards, by ``margin``; True while nothing is kept yet."""
        if not self.his:
            return True, True
        if up:
            return x > max(self.his) + margin, m3 > max(self.mhis) + margin
        return x < min(self.los) - margin, m3 < min(self.mlos) - margin

    def seed(self, lo: float, hi: float) -> None:
        """One closed hour from elsewhere (the store's rollups)."""
        self.los.append(lo)
        self.his.append(hi)
        self.mlos.append(lo)
        self.mhis.append(hi)

    def dump(self) -> list[list[float]]:
        return [list(self.los), list(self.his), list(self.mlos), list(self.mhis)]

    def load(self, data: list[list[float]]) -> None:
        for dq, vs in zip((self.los, self.his, self.mlos, self.mhis), data, strict=False):
            dq.extend(float(v) for v in vs)
