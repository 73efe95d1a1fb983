"""A trend chart widget: core/textchart.py's braille chart coloured for the terminal.

``show`` replaces the series (a range switch, a new metric), ``append`` adds a live sample to
one series and slides the window when the sample is past its end; both only mark the widget
dirty, so a flood of samples costs one repaint a frame. ``note`` puts one line of text (a
loading or refused request) in place of the chart. Several series get distinct colours and a
legend line; under NO_COLOR they differ by the legend order alone (and bold/dim).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rich.text import Text
from textual.widget import Widget

from core.textchart import Series, render_segments
from tui import palette

SERIES_COLORS = ("cyan", "magenta", "yellow", "green", "bright_blue", "red", "white",
                 "bright_magenta")
STYLES = {"axis": "dim", "label": "dim", "band": "grey35", "threshold": "yellow",
          "mark": "bold red", "muted": "dim"}
MONO_STYLES = {"axis": "dim", "label": "", "band": "dim", "threshold": "bold", "mark": "bold",
               "muted": "dim"}
MAX_LIVE = 4000  # points a series keeps from append() beyond what show() gave


class TrendChart(Widget):
    DEFAULT_CSS = "TrendChart { height: 1fr; min-height: 4; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.series: list[Series] = []
        self.unit, self.t0, self.t1 = "count", 0.0, 1.0
        self.thresholds: list[tuple[float, str]] = []
        self.marks: list[tuple[float, str]] = []
        self.message: Text | None = Text("no chart yet", style="dim")
        self.renders = 0  # charts drawn (a repaint of an unchanged chart reuses the last)
        self._version = 0  # bumped by every change of what is drawn
        self._drawn: tuple[tuple[int, int, int, bool], Text] | None = None

    def show(self, series: list[Series], *, unit: str, t0: float, t1: float,
             thresholds: Sequence[tuple[float, str]] = (),
             marks: Sequence[tuple[float, str]] = ()) -> None:
        self.series = [replace(s, points=list(s.points)) for s in series]  # append()s its own
        self.unit, self.t0, self.t1 = unit, t0, t1
        self.thresholds, self.marks = list(thresholds), list(marks)
        self.message = None
        self._changed()

    def append(self, label: str, ts: float, value: float) -> None:
        """A live sample for the series ``label`` (ignored when no series has that label)."""
        for s in self.series:
            if s.label == label:
                if s.points and ts <= s.points[-1][0]:
                    return  # older than what is drawn: a rollup already holds it
                s.points.append((ts, value))
                break
        else:
            return
        if ts > self.t1:  # live: the window follows the newest sample
            shift = ts - self.t1
            self.t0 += shift
            self.t1 = ts
            for s in self.series:
                if len(s.points) > MAX_LIVE or (s.points and s.points[0][0] < self.t0 - 3600):
                    s.points = [p for p in s.points if p[0] >= self.t0][-MAX_LIVE:]
        self._changed()

    def note(self, text: str, style: str = "dim") -> None:
        """One line in place of the chart (loading, refused): the series stay for later."""
        self.message = Text(text, style=style)
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self.refresh()

    def legend(self) -> Text:
        t = Text()
        for i, s in enumerate(self.series):
            t.append("● " if palette.color_on() else f"{i + 1}:", style=self._series_style(i))
            t.append(f"{s.label}  ")
        return t

    def _series_style(self, i: int) -> str:
        if palette.color_on():
            return SERIES_COLORS[i % len(SERIES_COLORS)]
        return ("bold", "", "dim", "italic")[i % 4]

    def _style(self, key: str) -> str:
        if not key:
            return ""
        styles = STYLES if palette.color_on() else MONO_STYLES
        if key[0] == "s" and key[1:2].isdigit():
            idx, _, band = key[1:].partition("+")
            base = self._series_style(int(idx))
            return f"{base} on grey19" if band and palette.color_on() else base
        return styles.get(key, "")

    def render(self) -> Text:
        """The chart; the one drawn last when nothing changed (a screen is repainted whole
        after a layout, and an incident view's opening repainted its chart three times)."""
        if self.message is not None:
            return self.message
        width, height = self.content_size.width, self.content_size.height
        drawn_as = (self._version, width, height, palette.color_on())
        if self._drawn is not None and self._drawn[0] == drawn_as:
            return self._drawn[1]
        self.renders += 1
        out = Text(no_wrap=True, overflow="crop")
        if len(self.series) > 1 and height > 4:
            out.append_text(self.legend())
            out.append("\n")
            height -= 1
        lines = render_segments(self.series, width=width, height=height, unit=self.unit,
                                t0=self.t0, t1=self.t1, thresholds=self.thresholds,
                                marks=self.marks)
        for n, line in enumerate(lines):
            for text, key in line:
                out.append(text, style=self._style(key))
            if n < len(lines) - 1:
                out.append("\n")
        self._drawn = (drawn_as, out)
        return out
