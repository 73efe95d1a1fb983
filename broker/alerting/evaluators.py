"""Per-kind evaluation of one series (rule x host x metric): value in, severity level out.

A series object keeps what its kind needs (window, trend, baseline, log hits) and, after
each evaluation, ``level`` (None, or the severity the condition holds at), ``value`` and
``threshold``. ``observe`` returns False when the sample did not produce a fresh
evaluation (a forecast between buckets, a per-core rule before ``cpu.count`` is known),
so the engine leaves the alert as it is. The lifecycle itself lives in broker/alerting/lifecycle.py.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from broker.alerting.robust import CUSUM_H, RobustDetector
from broker.alerting.rules import Rule
from broker.alerting.windows import Trend, Window

WARNING = "warning"
CRITICAL = "critical"


class Levels:
    """Warning/critical thresholds with a ``clear`` margin (hysteresis).

    A condition starts when the value passes a threshold (``op``) and holds until the value
    is back past it by ``clear``: with ``op = ">"``, ``warning = 80``, ``clear = 5`` it
    starts above 80 and ends at or below 75. Critical de-escalates to warning the same way.
    """

    __slots__ = ("sign", "strict", "warning", "critical", "sw", "sc", "hw", "hc")

    def __init__(self, op: str, warning: float | None, critical: float | None,
                 clear: float) -> None:
        self.sign = -1.0 if op in ("<", "<=") else 1.0
        self.strict = op in (">", "<", "!=")
        self.warning, self.critical = warning, critical
        s = self.sign
        self.sw = None if warning is None else s * warning
        self.sc = None if critical is None else s * critical
        self.hw = 0.0 if warning is None else s * warning - clear  # read only when sw is set
        self.hc = 0.0 if critical is None else s * critical - clear

    def level(self, v: float, cur: str | None) -> str | None:
        x = self.sign * v
        sc = self.sc
        if sc is not None and ((x > sc if self.strict else x >= sc)
                               or (cur == CRITICAL and (x > self.hc if self.strict else x >= self.hc))):
            return CRITICAL
        sw = self.sw
        if sw is not None and ((x > sw if self.strict else x >= sw)
                               or (cur is not None and (x > self.hw if self.strict else x >= self.hw))):
            return WARNING
        return None

    def threshold(self, level: str | None) -> float:
        t = self.critical if level == CRITICAL else self.warning
        return float(t if t is not None else self.critical if self.critical is not None else 0.0)


_LEVELS: dict[tuple[str, float | None, float | None, float], Levels] = {}


def levels(op: str, warning: float | None, critical: float | None, clear: float) -> Levels:
    """One shared (read-only) Levels per set of thresholds: every host's series of a rule
    use the same one (96 bytes a series saved; a rules reload makes new keys, and the
    handful of old ones left is no cost)."""
    key = (op, warning, critical, clear)
    lv = _LEVELS.get(key)
    if lv is None:
        if len(_LEVELS) >= 10_000:
            _LEVELS.clear()
        lv = _LEVELS[key] = Levels(op, warning, critical, clear)
    return lv


class Series:
    """Base: one (rule, host, metric) with its current evaluation and alert (if any)."""

    __slots__ = ("rule", "host", "metric", "alert", "level", "value", "threshold", "last_ts")

    def __init__(self, rule: Rule, host: str, metric: str) -> None:
        self.rule, self.host, self.metric = rule, host, metric
        self.alert: Any = None
        self.level: str | None = None
        self.value = 0.0
        self.threshold = 0.0
        self.last_ts: float | None = None

    def observe(self, v: float, now: float, hs: Any) -> bool:
        raise NotImplementedError

    def check(self, now: float) -> bool:
        """Time-driven re-evaluation from the tick; False when there is nothing new."""
        return False

    def dump(self) -> Any:
        return None

    def load(self, data: Any) -> None:
        return None


class ThresholdSeries(Series):
    __slots__ = ("levels", "window", "agg", "per_core")

    def __init__(self, rule: Rule, host: str, metric: str) -> None:
        super().__init__(rule, host, metric)
        self.levels = levels(rule.op, rule.warning, rule.critical, rule.clear)
        self.window = Window(rule.over) if rule.over > 0 else None
        self.agg = rule.agg
        self.per_core = rule.per_core

    def observe(self, v: float, now: float, hs: Any) -> bool:
        self.last_ts = now
        if self.per_core:
            cores = hs.cpu_count
            if not cores:
                return False
            v = v / cores
        if self.window is not None:
            self.window.add(now, v)
            v = self.window.agg(self.agg)
        self.value = v
        lvl = self.level = self.levels.level(v, self.level)
        if lvl is not None:
            self.threshold = self.levels.threshold(lvl)
        return True


class RateSeries(Series):
    """Change per second over ``over``. For a counter (the default) a drop is a reset, as
    in Prometheus' ``rate()``: the counter restarted from zero, so the value after the
    drop is all increase. The window holds reset-corrected values (raw + ``offset``)."""

    __slots__ = ("levels", "window", "prev", "offset")

    def __init__(self, rule: Rule, host: str, metric: str) -> None:
        super().__init__(rule, host, metric)
        self.levels = levels(rule.op, rule.warning, rule.critical, rule.clear)
        self.window = Window(rule.over)
        self.prev: float | None = None
        self.offset = 0.0

    def observe(self, v: float, now: float, hs: Any) -> bool:
        self.last_ts = now
        if self.rule.counter:
            if self.prev is not None and v < self.prev:
                self.offset += self.prev
            self.prev = v
            v += self.offset
        self.window.add(now, v)
        rate = self.window.rate()
        if rate is None:
            return False
        self.value = rate
        lvl = self.level = self.levels.level(rate, self.level)
        self.threshold = self.levels.threshold(lvl)
        return True


class ForecastSeries(Series):
    """Where the least-squares line over ``over`` will be in ``horizon`` (predict_linear)."""

    __slots__ = ("levels", "trend")

    def __init__(self, rule: Rule, host: str, metric: str) -> None:
        super().__init__(rule, host, metric)
        self.levels = levels(rule.op, rule.warning, rule.critical, rule.clear)
        self.trend = Trend(rule.over)

    def observe(self, v: float, now: float, hs: Any) -> bool:
        self.last_ts = now
        if not self.trend.add(now, v):
            return False
        predicted = self.trend.predict(now + self.rule.horizon)
        if predicted is None:
            return False
        self.value = predicted
        lvl = self.level = self.levels.level(predicted, self.level)
        self.threshold = self.levels.threshold(lvl)
        return True


class AnomalySeries(Series):
    """Spike and level-shift detection against a robust baseline (broker/alerting/robust.py).

    The level is warning when the robust z-score passes the sensitivity's threshold (or the
    rule's ``warning``) or the CUSUM alarms on a sustained shift; critical past
    ``critical`` (default twice the warning z). ``value`` is the value seen, ``threshold``
    the edge of ``band``, the expected range (expected level +- the warning z), that it
    crossed; the z-score is in ``facts()``.
    """

    __slots__ = ("levels", "det", "sign", "band", "z", "_dumped")

    def __init__(self, rule: Rule, host: str, metric: str) -> None:
        super().__init__(rule, host, metric)
        zw, zc, h = anomaly_thresholds(rule)
        self.levels = levels(">=", zw, zc, rule.clear)
        self.det = RobustDetector(rule.window, rule.min_stddev, zw, h)
        self.sign = {">": 1.0, "<": -1.0}.get(rule.op, 0.0)
        self.band: tuple[float, float] | None = None
        self.z = 0.0
        self._dumped: tuple[int, Any] = (-DUMP_EVERY, None)

    def observe(self, v: float, now: float, hs: Any) -> bool:
        self.last_ts = now
        d = self.det
        ready = d.n >= self.rule.warmup
        z, shift, novel = d.step(now, v, ready)
        if not ready:
            return False
        sg = self.sign
        score = abs(z) if sg == 0.0 else sg * z
        shifted = (abs(shift) if sg == 0.0 else sg * shift) >= d.h
        lvl = self.levels.level(score, self.level)
        if self.level is None and not novel:
            lvl = None  # a spike alert starts only on what the last days have not seen
        if lvl is None and shifted:
            lvl = WARNING  # a shift alert, on a level no recent hour has had
        lo, hi = self.band = d.band(now, self.levels.warning or 0.0)
        self.level, self.value, self.z = lvl, v, z
        self.threshold = hi if z >= 0 else lo  # the edge of the expected range it crossed
        return True

    def facts(self) -> dict[str, float]:
        if self.band is None:
            return {}
        return {"lo": self.band[0], "hi": self.band[1], "seen": self.det.last, "z": self.z}

    def seed(self, hours: list[tuple[float, float, float, float, float]]) -> bool:
        """Seed a series that has learned nothing yet (see RobustDetector.seed)."""
        if not self.det.fresh or not hours:
            return False
        self.det.seed(hours)
        return True

    def dump(self) -> Any:
        """The detector's memory (a few thousand numbers), rebuilt at most every
        DUMP_EVERY samples: the engine state is saved every 10 s on the core thread."""
        n, data = self._dumped
        if data is None or self.det.n - n >= DUMP_EVERY:
            data = self.det.dump()
            self._dumped = (self.det.n, data)
        return data

    def load(self, data: Any) -> None:
        self.det.load(data)


DUMP_EVERY = 60


def anomaly_thresholds(rule: Rule) -> tuple[float, float, float]:
    """(warning z, critical z, CUSUM alarm level) from ``sensitivity`` 1..10 (default 5:
    5 sigmas, CUSUM 8), the rule's ``warning``/``critical`` overriding the z-scores."""
    zw = 3.0 + (10.0 - rule.sensitivity) * 0.4
    h = CUSUM_H * zw / 5.0
    if rule.warning is not None:
        zw = rule.warning
    zc = rule.critical if rule.critical is not None else 2.0 * zw
    return zw, zc, h


class AbsentSeries(Series):
    """The dead-man switch for one metric: fires when no sample came for ``for``."""

    def observe(self, v: float, now: float, hs: Any) -> bool:
        self.last_ts = now
        self.value = 0.0
        self.level = None
        return self.alert is not None

    def check(self, now: float) -> bool:
        if self.last_ts is None:
            return False
        silent = now - self.last_ts
        self.value, self.threshold = silent, self.rule.for_
        self.level = self.rule.severity if silent >= self.rule.for_ else None
        return self.level is not None or self.alert is not None


class HostDownSeries(AbsentSeries):
    """No frame at all (metrics or log) from the host for ``for``: Prometheus' up == 0."""


class LogSeries(Series):
    """Count of log lines matching ``pattern`` (and ``level``) within ``over``."""

    __slots__ = ("hits",)

    def __init__(self, rule: Rule, host: str, metric: str = "") -> None:
        super().__init__(rule, host, metric)
        # made at the first hit: an empty deque costs 760 bytes, on every host
        self.hits: deque[float] | None = None
        self.threshold = float(rule.count)

    def hit(self, now: float) -> bool:
        self.last_ts = now
        if self.hits is None:
            self.hits = deque(maxlen=max(self.rule.count * 4, 64))
        self.hits.append(now)
        return self.check(now)

    def check(self, now: float) -> bool:
        hits, cutoff = self.hits, now - self.rule.over
        if hits is None:
            hits = self.hits = deque(maxlen=max(self.rule.count * 4, 64))
        while hits and hits[0] <= cutoff:
            hits.popleft()
        self.value = float(len(hits))
        self.level = self.rule.severity if len(hits) >= self.rule.count else None
        return self.level is not None or self.alert is not None


class CheckSeries(Series):
    """A check's state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN -> the rule's ``unknown``)."""

    def observe(self, v: float, now: float, hs: Any) -> bool:
        self.last_ts = now
        self.value = self.threshold = v
        self.level = {1: WARNING, 2: CRITICAL, 3: self.rule.severity}.get(int(v))
        return True


SERIES = {"threshold": ThresholdSeries, "check": CheckSeries, "rate": RateSeries, "forecast": ForecastSeries,
          "anomaly": AnomalySeries, "absent": AbsentSeries, "host_down": HostDownSeries,
          "log": LogSeries}
