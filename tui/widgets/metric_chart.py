"""One metric of one or more hosts over a range: a title line (the ranges, the figures) over a
TrendChart. The host screen shows its highlighted metric here, the compare screen a metric
of every marked host (one coloured series each).

Requests are asynchronous and never pile up: at most one ``history`` request per host is in
flight; a range switched five times while one is out sends only the last range when it
returns (latest wins). Replies are cached per (host, metric, range) and shown at once when
the range comes back, re-asked in the background once older than 1/60 of the range. A
refused or timed-out request is one line in the chart, never a toast. Between requests
the live samples the console already receives extend the line (``tick``, twice a second).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from core.chart_data import RANGES, series_of, summary
from core.textchart import Series
from core.units import fmt, unit_of
from tui.format import printable
from tui.widgets.panel import Panel
from tui.widgets.trend_chart import TrendChart

if TYPE_CHECKING:
    from tui.app import MonitorApp
    from tui.messages import Reply
    from tui.model import FleetModel

DEFAULT_RANGE = 1  # 1h
Key = tuple[str, str, int]  # host, metric, range index


class MetricChart(Vertical):
    DEFAULT_CSS = """
    MetricChart { height: 1fr; }
    MetricChart > Panel { height: 1; }
    MetricChart > TrendChart { height: 1fr; min-height: 3; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.range = DEFAULT_RANGE
        self.hosts: list[str] = []
        self.metric = ""
        self.sources: dict[str, list[str]] = {}  # host -> the brokers that have it
        self.cache: dict[Key, tuple[Series | str, float]] = {}  # a Series or an error
        self.inflight: dict[str, Key] = {}  # host -> the one request out for it
        self.thresholds: dict[tuple[str, str], list[tuple[float, str]]] = {}
        self.shown: tuple[Key, ...] = ()
        self.drawn: tuple[tuple[str, ...], str] | None = None  # hosts and metric on the chart
        self.waiting = False  # the range asked for is on its way; the chart shows the last one
        self.last_ts: dict[str, float] = {}
        self.sent = 0  # history requests sent (tests: no pile-up)

    def compose(self) -> ComposeResult:
        yield Panel(id="chart-title")
        yield TrendChart(id="chart")

    @property
    def console(self) -> MonitorApp:
        return self.app  # type: ignore[return-value]

    @property
    def range_name(self) -> str:
        return RANGES[self.range][0]

    # ------------------------------------------------------------------ what to show
    def show_metric(self, hosts: Sequence[str], metric: str,
                    sources: dict[str, list[str]] | None = None) -> None:
        hosts = list(hosts)
        if hosts == self.hosts and metric == self.metric:
            return
        self.hosts, self.metric = hosts, metric
        self.sources = dict(sources or {})
        self.shown = ()
        self.load()

    def step_range(self, delta: int) -> None:
        new = min(max(self.range + delta, 0), len(RANGES) - 1)
        if new != self.range:
            self.range = new
            self.shown = ()
            self.load()

    def reset(self) -> None:
        """Forget every reply (the screen comes back: the data may be old)."""
        self.cache.clear()
        self.thresholds.clear()
        self.shown = ()

    # ------------------------------------------------------------------ requests
    def _keys(self) -> list[Key]:
        return [(h, self.metric, self.range) for h in self.hosts]

    def _gone(self) -> bool:
        """Being removed (its screen closed): a reply that comes now has nothing to draw on."""
        return not self.is_attached or not self.query(TrendChart)

    def load(self) -> None:
        if self._gone():
            return
        if not self.hosts or not self.metric:
            self._title()
            self.query_one(TrendChart).note("no metric selected", "dim")
            return
        now = self.console.now()
        for key in self._keys():
            have = self.cache.get(key)
            span = RANGES[key[2]][1]
            if (have is None or now - have[1] > span / 60) and key[0] not in self.inflight:
                self._ask(key)
            pair = (key[0], key[1])
            if pair not in self.thresholds:
                self.thresholds[pair] = []
                self.console.call("thresholds", {"host": key[0], "metric": key[1],
                                                 "windowed": True},
                                  functools.partial(self._got_thresholds, pair),
                                  brokers=self.sources.get(key[0]),
                                  on_error=lambda r: None)  # no lines: the chart still draws
        self.paint()

    def _ask(self, key: Key) -> None:
        host, metric, rng = key
        name, span, step = RANGES[rng]
        now = self.console.now()
        self.inflight[host] = key
        self.sent += 1
        self.console.call("history", {"host": host, "metric": metric, "since": now - span,
                                      "until": now, "step": step, "recent": True},
                          lambda r: self._got(key, r, None), brokers=self.sources.get(host),
                          on_error=lambda r: self._got(key, r, r.error or "refused"))

    def _got(self, key: Key, reply: Reply, error: str | None) -> None:
        if self.inflight.get(key[0]) == key:
            del self.inflight[key[0]]
        step = RANGES[key[2]][2]
        value: Series | str = error if error is not None else series_of(key[0], reply.result,
                                                                         step)
        self.cache[key] = (value, self.console.now())
        if key in self._keys():
            self.shown = ()
        self.load()  # the latest range, if it changed while this one was out

    def _got_thresholds(self, pair: tuple[str, str], reply: Reply) -> None:
        lines: dict[float, str] = {}
        result = reply.result if isinstance(reply.result, dict) else {}
        for t in result.get("thresholds", []):
            for level in ("warning", "critical"):
                v = t.get(level)
                if isinstance(v, int | float):
                    lines[float(v)] = "crit" if level == "critical" else "warn"
        self.thresholds[pair] = sorted(lines.items())
        self.shown = ()
        self.paint()

    # ------------------------------------------------------------------ drawing
    def paint(self) -> None:
        if self._gone():
            return
        keys = tuple(self._keys())
        self._title()
        if keys == self.shown:
            return
        chart = self.query_one(TrendChart)
        got = [self.cache.get(k) for k in keys]
        self.waiting = any(g is None for g in got)
        if self.waiting:
            if self.drawn != (tuple(self.hosts), self.metric):  # another metric: say so
                chart.note(f"loading {self.range_name} of {printable(self.metric)}…")
            self._title()  # same metric, other range: the last chart stays until it comes
            return
        series = [g[0] for g in got if g is not None and isinstance(g[0], Series)]
        if len(series) > 1:  # several hosts: lines only, the bands would hide each other
            series = [Series(s.label, s.points, gap=s.gap) for s in series]
        errors = [g[0] for g in got if g is not None and isinstance(g[0], str)]
        if errors and not series:
            chart.note(printable(f"{self.metric}: no history ({errors[0]})"), "yellow")
            self.shown, self.drawn = keys, None
            return
        lines: dict[float, str] = {}
        for h in self.hosts:
            lines.update(dict(self.thresholds.get((h, self.metric), [])))
        now = self.console.now()
        span = RANGES[self.range][1]
        chart.show(series, unit=unit_of(self.metric), t0=now - span, t1=now,
                   thresholds=sorted(lines.items()))
        self.last_ts = {s.label: max((t for t, _ in s.points), default=0.0) for s in series}
        self.shown, self.drawn = keys, (tuple(self.hosts), self.metric)
        self._title()

    def tick(self, model: FleetModel) -> None:
        """The live tail: the newest sample of each host, when it is newer than the line."""
        if not self.shown:
            return
        chart = self.query_one(TrendChart)
        for h in self.hosts:
            view = model.hosts.get(h)
            if view is None or self.metric not in view.metrics:
                continue
            ts = view.last_seen
            if ts > self.last_ts.get(h, 0.0):
                self.last_ts[h] = ts
                chart.append(h, ts, view.metrics[self.metric])

    def _title(self) -> None:
        t = Text(no_wrap=True, overflow="crop")
        t.append(printable(self.metric) or "-", style="bold")
        t.append("  ")
        for i, (name, _, _) in enumerate(RANGES):
            t.append(f" {name} ", style="reverse bold" if i == self.range else "dim")
        t.append("  < >", style="dim")
        chart = self.query_one(TrendChart)
        if self.waiting:
            t.append(f"  loading {self.range_name}…", style="dim")
        elif len(chart.series) == 1 and self.shown:
            stats = summary(chart.series[0])
            if stats is not None:
                unit = unit_of(self.metric)
                t.append(f"  min {fmt(stats[0], unit)} avg {fmt(stats[1], unit)} "
                         f"max {fmt(stats[2], unit)}")
        self.query_one("#chart-title", Panel).update(t)
