"""A text chart of metric series: braille lines (2x4 dots a cell), a shaded min..max band from
the rollups, a value axis in the metric's unit, a time axis, dashed threshold lines and
vertical marks (an alert's start). No Textual: monitor-ctl prints ``render``'s lines, the
TUI's TrendChart (tui/widgets/trend_chart.py) colours ``render_segments``' styled runs.

Gaps (a ``None`` value, or a hole longer than the series' ``gap``, by default 2.5 times its
usual step) are left blank, a constant series draws a line in the middle of its axis, and any size down to 1x1
gives exactly ``height`` lines of exactly ``width`` characters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeGuard

from core.chart_axes import time_label, time_ticks, value_label, value_range

BRAILLE = 0x2800
# the bit of each dot of a braille cell, by (x 0..1, y 0..3 from the top)
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
SHADE, DASH, MARK = "░", "╌", "┊"
GAP_FACTOR = 2.5


@dataclass
class Series:
    label: str
    points: list[tuple[float, float | None]]         # (unix seconds, value): avg or last
    low: list[tuple[float, float]] | None = None     # min band (rollups), same timestamps
    high: list[tuple[float, float]] | None = None    # max band
    gap: float | None = None  # a longer hole between points is a gap (None: 2.5x the usual)


Segment = tuple[str, str]  # (text, style key): axis, label, band, threshold, mark, s0, s1+band...


def render(series: Sequence[Series], *, width: int, height: int, unit: str, t0: float,
           t1: float, thresholds: Sequence[tuple[float, str]] = (),
           marks: Sequence[tuple[float, str]] = ()) -> list[str]:
    """The chart as ``height`` plain lines of ``width`` characters."""
    return ["".join(text for text, _ in line) for line in render_segments(
        series, width=width, height=height, unit=unit, t0=t0, t1=t1,
        thresholds=thresholds, marks=marks)]


def render_segments(series: Sequence[Series], *, width: int, height: int, unit: str,
                    t0: float, t1: float, thresholds: Sequence[tuple[float, str]] = (),
                    marks: Sequence[tuple[float, str]] = ()) -> list[list[Segment]]:
    """The chart as ``height`` lines of (text, style key) runs; style keys: ``axis``,
    ``label``, ``band``, ``threshold``, ``mark``, ``muted`` and ``s<i>`` for series i (with
    ``+band`` when its dots lie on the band)."""
    width, height = max(0, width), max(0, height)
    if width == 0 or height == 0:
        return [[] for _ in range(height)]
    if not t1 > t0:
        t1 = t0 + 1.0
    c = _Canvas(series, width, height, unit, t0, t1, thresholds)
    c.draw(series, thresholds, marks)
    return c.lines()


def _finite(v: float | None) -> TypeGuard[float]:
    return v is not None and math.isfinite(v)


class _Canvas:
    def __init__(self, series: Sequence[Series], width: int, height: int, unit: str,
                 t0: float, t1: float, thresholds: Sequence[tuple[float, str]]) -> None:
        self.unit, self.t0, self.t1 = unit, t0, t1
        self.time_rows = 2 if height >= 6 and width >= 12 else 1 if height >= 3 and width >= 12 \
            else 0
        self.rows = height - self.time_rows
        values = [v for s in series for _, v in s.points if _finite(v)]
        for s in series:
            values += [v for _, v in (s.low or ()) if _finite(v)]
            values += [v for _, v in (s.high or ()) if _finite(v)]
        self.empty = not any(_finite(v) for s in series for _, v in s.points)
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        for v, _ in thresholds:  # a threshold widens the axis only where it reads well
            if _finite(v) and (unit == "%" and 0 <= v <= 100 and lo >= 0
                               or lo - 1.5 * (hi - lo) <= v <= hi + 1.5 * (hi - lo)):
                lo, hi = min(lo, v), max(hi, v)
        self.lo, self.hi, ticks = value_range(lo, hi, self.rows, unit)
        labels = [(t, value_label(t, unit)) for t in ticks]
        lw = max(len(text) for _, text in labels)
        self.axis_w = lw + 1 if width >= lw + 10 and self.rows >= 2 else 0
        self.cols = width - self.axis_w
        self.width, self.height = width, height
        self.dots = [[0] * self.cols for _ in range(self.rows)]
        self.owner = [[-1] * self.cols for _ in range(self.rows)]
        self.band = [[False] * self.cols for _ in range(self.rows)]
        self.over: dict[tuple[int, int], tuple[str, str]] = {}  # drawn on top of everything
        self.labelled: set[tuple[int, int]] = set()  # cells holding a label's text
        self.ylabels: dict[int, str] = {}
        self.threshold_ticks: set[int] = set()  # rows whose axis label is a threshold's
        for t, text in labels:
            row = self.row_of(t)
            if 0 <= row < self.rows and row not in self.ylabels:
                self.ylabels[row] = text.rjust(lw)

    # -- mapping
    def x_dot(self, ts: float) -> int:
        return round((ts - self.t0) / (self.t1 - self.t0) * (self.cols * 2 - 1))

    def y_dot(self, v: float) -> int:
        """Dots from the top of the plot."""
        n = self.rows * 4 - 1
        frac = (v - self.lo) / (self.hi - self.lo)
        return n - round(min(max(frac, 0.0), 1.0) * n)

    def row_of(self, v: float) -> int:
        return self.y_dot(v) // 4

    def col_of(self, ts: float) -> int:
        return self.x_dot(ts) // 2

    # -- drawing
    def draw(self, series: Sequence[Series], thresholds: Sequence[tuple[float, str]],
             marks: Sequence[tuple[float, str]]) -> None:
        if self.rows <= 0 or self.cols <= 0:
            return
        for s in series:
            if s.low and s.high:
                self._band(s)
        for i, s in enumerate(series):
            self._line(i, s.points, s.gap)
        shown = [(v, label) for v, label in thresholds if _finite(v) and self.lo <= v <= self.hi]
        for v, label in shown:
            self._threshold(v, label)
        self._axis_at_thresholds([v for v, _ in shown])
        for ts, label in marks:
            if self.t0 <= ts <= self.t1:
                self._mark(ts, label)
        if self.empty:
            self._text(self.rows // 2, max(0, (self.cols - 7) // 2), "no data", "muted")

    def _usual_step(self, ts: list[float]) -> float:
        if len(ts) < 2:
            return math.inf
        diffs = sorted(b - a for a, b in zip(ts, ts[1:], strict=False))
        return diffs[len(diffs) // 2] or math.inf

    def _band(self, s: Series) -> None:
        lows = dict((t, v) for t, v in s.low or () if _finite(v))
        pts = sorted((t, v, lows[t]) for t, v in s.high or () if _finite(v) and t in lows)
        gap = s.gap or self._usual_step([p[0] for p in pts]) * GAP_FACTOR
        spans: dict[int, list[float]] = {}  # column -> [highest, lowest]: one fill a column
        last = self.cols - 1
        for i, (t, hi, lo) in enumerate(pts):
            if not self.t0 <= t <= self.t1:
                continue
            c0 = self.col_of(t)
            nxt = pts[i + 1][0] if i + 1 < len(pts) else t
            c1 = max(c0, self.col_of(nxt) - 1) if nxt - t <= gap else c0
            for col in range(c0, min(c1, last) + 1):
                cur = spans.get(col)
                if cur is None:
                    spans[col] = [hi, lo]
                else:
                    cur[0], cur[1] = max(cur[0], hi), min(cur[1], lo)
        for col, (hi, lo) in spans.items():
            for row in range(max(0, self.row_of(hi)), min(self.row_of(lo), self.rows - 1) + 1):
                self.band[row][col] = True

    def _line(self, idx: int, points: list[tuple[float, float | None]],
              gap: float | None) -> None:
        """Points that fall on the same dot column draw one vertical run (720 hourly points
        on 120 dot columns cost 120 runs, not 720 segments); runs and lone points are joined
        unless a gap lies between them."""
        pts = sorted(points, key=lambda p: p[0])
        gap = gap or self._usual_step([t for t, v in pts if _finite(v)]) * GAP_FACTOR
        t0, t1, lo = self.t0, self.t1, self.lo
        kx = (self.cols * 2 - 1) / (t1 - t0)
        n = self.rows * 4 - 1
        ky = n / (self.hi - lo)
        run: list[float] | None = None  # [x, first y, last y, min y, max y, last t]
        for t, v in pts:
            if v is None or not math.isfinite(v) or not t0 <= t <= t1:
                if run is not None:
                    self._run(idx, run)
                run = None
                continue
            x = round((t - t0) * kx)
            y = n - round(min(max((v - lo) * ky, 0.0), float(n)))
            if run is not None and x == run[0] and t - run[5] <= gap:
                run[2], run[5] = y, t
                run[3], run[4] = min(run[3], y), max(run[4], y)
                continue
            if run is not None:
                self._run(idx, run)
                if t - run[5] <= gap:
                    self._segment(idx, int(run[0]), int(run[2]), x, y)
                    run = [x, y, y, y, y, t]
                    continue
            self._dot(idx, x ^ 1, y)  # the first point after a gap: a whole cell wide
            run = [x, y, y, y, y, t]
        if run is not None:
            self._run(idx, run)

    def _run(self, idx: int, run: list[float]) -> None:
        x = int(run[0])
        for y in range(int(run[3]), int(run[4]) + 1):
            self._dot(idx, x, y)

    def _segment(self, idx: int, x0: int, y0: int, x1: int, y1: int) -> None:
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self._dot(idx, x0, y0)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def _dot(self, idx: int, x: int, y: int) -> None:
        col, row = x // 2, y // 4
        if 0 <= col < self.cols and 0 <= row < self.rows:
            self.dots[row][col] |= _DOT[x % 2][y % 4]
            self.owner[row][col] = idx

    def _threshold(self, v: float, label: str) -> None:
        row = self.row_of(v)
        for col in range(self.cols):  # behind the label of another threshold on this row
            if not self.dots[row][col] and (row, col) not in self.labelled:
                self.over[(row, col)] = (DASH, "threshold")
        text = f" {label} {value_label(v, self.unit)} ".replace("  ", " ")
        # at the right end, or left of another threshold's label on the same row
        end = min([c for r, c in self.labelled if r == row], default=self.cols)
        if len(text) <= end:
            self._text(row, end - len(text), text, "threshold")

    def _axis_at_thresholds(self, values: list[float]) -> None:
        """A threshold's row is the row of the nearest dot, and on a short chart that row's
        tick can be another value (the `warn 50%` line beside `40%`). Such a tick gives way
        to the threshold's own value (styled as the threshold), or to no label when two
        thresholds of other values share the row or the value is wider than the axis."""
        by_row: dict[int, set[str]] = {}
        for v in values:
            by_row.setdefault(self.row_of(v), set()).add(value_label(v, self.unit))
        for row, own in by_row.items():
            tick = self.ylabels.get(row)
            if tick is None or tick.strip() in own:
                continue
            (only,) = own if len(own) == 1 else ("",)
            if only and len(only) <= self.axis_w - 1:
                self.ylabels[row] = only.rjust(self.axis_w - 1)
                self.threshold_ticks.add(row)
            else:
                del self.ylabels[row]

    def _mark(self, ts: float, label: str) -> None:
        col = min(self.col_of(ts), self.cols - 1)
        for row in range(self.rows):  # the line passes behind a threshold's label
            if not self.dots[row][col] and (row, col) not in self.labelled:
                self.over[(row, col)] = (MARK, "mark")
        text = label[: max(0, self.cols - 1)]
        start = col + 1 if col + 1 + len(text) <= self.cols else col - len(text)
        if not text or start < 0:
            return
        for row in range(self.rows):  # the first row where it covers no other label
            if all((row, c) not in self.labelled for c in range(start, start + len(text))):
                self._text(row, start, text, "mark")
                return

    def _text(self, row: int, col: int, text: str, style: str) -> None:
        for i, ch in enumerate(text):
            if 0 <= col + i < self.cols and 0 <= row < self.rows:
                self.over[(row, col + i)] = (ch, style)
                self.labelled.add((row, col + i))

    # -- output
    def _cell(self, row: int, col: int) -> tuple[str, str]:
        hit = self.over.get((row, col))
        if hit is not None:
            return hit
        dots, band = self.dots[row][col], self.band[row][col]
        if dots:
            return chr(BRAILLE + dots), f"s{self.owner[row][col]}" + ("+band" if band else "")
        return (SHADE, "band") if band else (" ", "")

    def lines(self) -> list[list[Segment]]:
        out: list[list[Segment]] = []
        for row in range(self.rows):
            cells: list[tuple[str, str]] = []
            if self.axis_w:
                label = self.ylabels.get(row)
                cells.append((label or " " * (self.axis_w - 1),
                              "threshold" if row in self.threshold_ticks else "label"))
                cells.append(("┤" if label else "│", "axis"))
            cells += [self._cell(row, col) for col in range(self.cols)]
            out.append(_merge(cells))
        out += self._time_axis()
        return out

    def _time_axis(self) -> list[list[Segment]]:
        if not self.time_rows:
            return []
        ticks, fmt_ = time_ticks(self.t0, self.t1, self.cols)
        rule = ["─"] * self.cols
        text = [" "] * self.cols
        end = -1
        for t in ticks:
            col = self.col_of(t)
            if not 0 <= col < self.cols:
                continue
            rule[col] = "┬"
            label = time_label(t, fmt_)
            start = min(max(0, col - len(label) // 2), self.cols - len(label))
            if start > end and start >= 0:
                text[start:start + len(label)] = label
                end = start + len(label)
        pad = " " * self.axis_w
        lines = [_merge([(pad[:-1] + "└" if pad else "", "axis"), ("".join(rule), "axis")]),
                 _merge([(pad, ""), ("".join(text), "label")])]
        return lines[-self.time_rows:]


def _merge(cells: list[tuple[str, str]]) -> list[Segment]:
    out: list[Segment] = []
    for text, style in cells:
        if not text:
            continue
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text, style)
        else:
            out.append((text, style))
    return out
