"""core/textchart.py: the braille chart monitor-ctl prints and the TUI colours."""

from __future__ import annotations

import math
import time

import pytest

from core.chart_axes import nice_step, time_ticks, value_range
from core.textchart import BRAILLE, DASH, MARK, SHADE, Series, render, render_segments

T1 = 1_764_500_000.0  # 2025-11-30 10:53:20 UTC


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def minutes(n: int, fn, end: float = T1, step: float = 60.0) -> list[tuple[float, float]]:
    return [(end - (n - i) * step, fn(i)) for i in range(n)]


def braille_cols(lines: list[str]) -> list[int]:
    """Columns (of the whole line) holding at least one braille dot."""
    return sorted({c for line in lines for c, ch in enumerate(line)
                   if BRAILLE < ord(ch) <= BRAILLE + 0xFF})


def braille_rows(lines: list[str]) -> list[int]:
    return [r for r, line in enumerate(lines) if any(BRAILLE < ord(ch) <= BRAILLE + 0xFF
                                                       for ch in line)]


def chart(series, span=3600.0, unit="count", width=60, height=12, **kw) -> list[str]:
    lines = render(series, width=width, height=height, unit=unit, t0=T1 - span, t1=T1, **kw)
    assert len(lines) == height and all(len(line) == width for line in lines)
    return lines


@pytest.mark.parametrize("width,height", [(1, 1), (2, 1), (5, 2), (12, 3), (20, 5), (80, 24),
                                          (160, 50), (0, 3), (7, 0)])
def test_every_size_gives_exactly_the_size_asked(width: int, height: int) -> None:
    s = Series("x", minutes(60, lambda i: math.sin(i / 5) * 1e9), None, None)
    lines = render([s], width=width, height=height, unit="B", t0=T1 - 3600, t1=T1)
    assert len(lines) == height
    assert all(len(line) == width for line in lines)


def test_value_axis_is_in_the_metrics_unit() -> None:
    bytes_ = chart([Series("m", minutes(60, lambda i: (4 + i / 30) * 2**30))], unit="B")
    assert any("GiB┤" in line for line in bytes_)
    rate = chart([Series("n", minutes(60, lambda i: i * 1e6))], unit="B/s")
    assert any("MB/s┤" in line for line in rate)
    pct = chart([Series("c", minutes(60, lambda i: 20 + i / 2))], unit="%")
    assert any("%┤" in line for line in pct)


def test_time_axis_hours_for_a_day_and_dates_for_a_month() -> None:
    day = chart([Series("c", minutes(60, float))], span=86400, width=70)
    assert any("12:00" in line or "06:00" in line for line in day[-1:])
    month = chart([Series("c", minutes(720, float, step=3600))], span=30 * 86400, width=70)
    assert "Nov" in month[-1] or "Oct" in month[-1]
    assert ":" not in month[-1]
    ticks, fmt_ = time_ticks(T1 - 900, T1, 60)
    assert fmt_ == "%H:%M" and all(t % 60 == 0 for t in ticks) and len(ticks) >= 3


def test_a_line_goes_up_from_left_to_right() -> None:
    lines = chart([Series("c", minutes(60, float))], unit="count")
    first = min(braille_cols(lines))
    last = max(braille_cols(lines))
    row_at = {c: max(r for r, line in enumerate(lines) if c < len(line)
                     and BRAILLE < ord(line[c]) <= BRAILLE + 0xFF) for c in (first, last)}
    assert row_at[first] > row_at[last]  # the rising end sits higher (a smaller row)


def test_constant_series_is_a_line_not_a_bar() -> None:
    lines = chart([Series("c", minutes(30, lambda i: 7.0))], height=12)
    assert len(braille_rows(lines)) == 1
    row = braille_rows(lines)[0]
    assert 2 <= row <= 8  # in the middle of the plot, not on an edge
    zero = chart([Series("z", minutes(30, lambda i: 0.0))], unit="%")
    assert len(braille_rows(zero)) == 1


def test_one_point_draws_something_visible() -> None:
    lines = chart([Series("c", [(T1 - 10, 5.0)])], span=900)
    assert len(braille_cols(lines)) == 1
    assert "no data" not in "".join(lines)


def test_empty_series_say_no_data() -> None:
    assert "no data" in "".join(chart([Series("c", [])]))
    assert "no data" in "".join(chart([]))
    assert "no data" in "".join(chart([Series("c", [(T1 - 5, None)])]))


def test_gaps_are_left_blank() -> None:
    whole = chart([Series("c", minutes(60, lambda i: 5.0 + (i % 2)))])
    holed = chart([Series("c", minutes(60, lambda i: None if 20 <= i < 40 else 5.0 + (i % 2)))])
    missing = chart([Series("c", [p for i, p in enumerate(minutes(60, lambda i: 5.0 + i % 2))
                                  if not 20 <= i < 40])])
    assert len(braille_cols(holed)) < len(braille_cols(whole)) - 10
    assert braille_cols(missing) == braille_cols(holed)


def test_negative_huge_and_tiny_values() -> None:
    neg = chart([Series("t", minutes(60, lambda i: -20.0 + i))])
    assert any(line.lstrip().startswith("-") for line in neg)
    huge = chart([Series("b", minutes(60, lambda i: 1e18 * (1 + i)))], unit="B")
    assert any("EiB" in line or "PiB" in line for line in huge)
    tiny = chart([Series("s", minutes(60, lambda i: 1e-4 * i))])
    assert len(braille_rows(tiny)) > 3
    assert all("e-" not in line for line in tiny)  # never an exponent on the axis


def test_band_is_shaded_between_min_and_max() -> None:
    pts = minutes(60, lambda i: 50.0)
    s = Series("c", pts, [(t, 20.0) for t, _ in pts], [(t, 80.0) for t, _ in pts])
    lines = chart([s], unit="%")
    shaded = [r for r, line in enumerate(lines) if SHADE in line]
    assert len(shaded) >= 4
    no_band = chart([Series("c", pts)], unit="%")
    assert not any(SHADE in line for line in no_band)
    segs = render_segments([s], width=60, height=12, unit="%", t0=T1 - 3600, t1=T1)
    assert any(style == "s0+band" for line in segs for _, style in line)


def test_threshold_lines_are_dashed_and_labelled() -> None:
    lines = chart([Series("c", minutes(60, lambda i: 30.0 + i / 3))], unit="%",
                  thresholds=[(90.0, "critical"), (80.0, "warning")])
    crit = next(line for line in lines if "critical 90%" in line)
    assert crit.count(DASH) > 20
    assert any("warning 80%" in line for line in lines)
    segs = render_segments([Series("c", [(T1 - 5, 1.0)])], width=60, height=12, unit="%",
                           t0=T1 - 60, t1=T1, thresholds=[(90.0, "critical")])
    assert any(style == "threshold" for line in segs for _, style in line)


def test_far_threshold_does_not_squash_the_data() -> None:
    lines = chart([Series("b", minutes(60, lambda i: 100.0 + i % 3))], unit="count",
                  thresholds=[(1e6, "critical")])
    assert not any("critical" in line for line in lines)
    assert len(braille_rows(lines)) >= 4


def test_marks_draw_a_labelled_vertical_line() -> None:
    lines = chart([Series("c", minutes(60, lambda i: 5.0))], marks=[(T1 - 1800, "alert")])
    assert "alert" in lines[0]
    col = lines[0].index("alert") - 1
    assert sum(1 for line in lines[:-2] if line[col] == MARK) >= 8
    outside = chart([Series("c", minutes(60, lambda i: 5.0))], marks=[(T1 - 7200, "old")])
    assert "old" not in "".join(outside)


def test_a_mark_near_a_threshold_label_leaves_the_label_whole() -> None:
    pts = [(i * 60.0, 50.0 + i % 7) for i in range(60)]
    for width in (40, 50, 76):
        lines = render([Series("cpu", pts)], width=width, height=8, unit="%", t0=0, t1=3540,
                       thresholds=[(95.0, "critical")], marks=[(3400.0, "start")])
        text = "\n".join(lines)
        assert "critical 95%" in text, text
        assert "start" in text, text


def test_several_series_have_their_own_style() -> None:
    a = Series("a", minutes(60, lambda i: 10.0))
    b = Series("b", minutes(60, lambda i: 90.0))
    segs = render_segments([a, b], width=60, height=12, unit="%", t0=T1 - 3600, t1=T1)
    styles = {style for line in segs for _, style in line}
    assert {"s0", "s1"} <= styles


def test_nice_steps_and_ranges() -> None:
    assert nice_step(100, 5) == 20
    assert nice_step(3 * 2**30, 3, 1024.0) == 2**30
    lo, hi, ticks = value_range(3.0, 97.0, 10, "%")
    assert lo == 0 and hi == 100 and ticks[0] == 0 and ticks[-1] == 100
    lo, hi, _ = value_range(5.0, 5.0, 10, "count")
    assert lo < 5 < hi
    lo, _, _ = value_range(0.0, 0.0, 10, "%")
    assert lo == 0


def test_720_hourly_points_fill_the_width() -> None:
    s = Series("c", minutes(720, lambda i: math.sin(i / 9), step=3600),
               minutes(720, lambda i: math.sin(i / 9) - 0.5, step=3600),
               minutes(720, lambda i: math.sin(i / 9) + 0.5, step=3600))
    lines = chart([s], span=30 * 86400, width=76, height=16)
    cols = braille_cols(lines)
    assert cols[-1] - cols[0] >= 76 - 12  # the label column aside, edge to edge
    assert len(cols) == len(range(cols[0], cols[-1] + 1))  # no holes in an unbroken series


def test_history_reply_to_series_rollups_then_live_samples() -> None:
    from core.chart_data import series_of, step_for, summary

    rollups = [{"ts": T1 - 180, "min": 1.0, "avg": 2.0, "max": 3.0, "count": 60},
               {"ts": T1 - 120, "min": 2.0, "avg": 4.0, "max": 6.0, "count": 60},
               {"ts": T1 - 60, "min": 5.0, "avg": 5.0, "max": 5.0, "count": 3}]  # open
    s = series_of("c", {"points": rollups, "recent": [[T1 - 50, 7.0], [T1 - 49, 9.0]]})
    assert s.points == [(T1 - 150, 2.0), (T1 - 90, 4.0), (T1 - 50, 7.0), (T1 - 49, 9.0)]
    assert s.low is not None and s.low[0] == (T1 - 150, 1.0)
    assert summary(s) == (1.0, 5.5, 9.0)
    old = series_of("c", rollups)  # a broker from before ``recent``: a bare list
    assert [v for _, v in old.points] == [2.0, 4.0, 5.0]
    assert summary(series_of("c", {"points": [], "recent": []})) is None
    assert step_for(86400) == "1m" and step_for(7 * 86400) == "1h"
    lines = render([s], width=40, height=8, unit="count", t0=T1 - 180, t1=T1)
    assert len(braille_cols(lines)) >= 15  # one unbroken line: minutes then seconds


def axis_label(line: str) -> str | None:
    """The value axis' label of a plot line (None: the line has no axis)."""
    for edge in ("┤", "│"):
        if edge in line[:12]:
            return line[:line.index(edge)].strip()
    return None


@pytest.mark.parametrize("height", [5, 6, 7, 8, 9, 11])
def test_a_threshold_row_never_shows_another_values_tick(height: int) -> None:
    """A short chart puts a threshold on the row of the nearest tick: the dashed `warn 50%`
    line beside a `40%` label read as 40%. The row's axis label is the threshold's own value
    (or none), and its line says its value."""
    pts = [(i * 60.0, 20.0 + (i % 10) * 2.5) for i in range(60)]
    for warn, crit in [(50.0, 90.0), (80.0, 95.0), (45.0, 70.0), (33.0, 66.0)]:
        lines = render([Series("cpu", pts)], width=50, height=height, unit="%", t0=0,
                       t1=3540, thresholds=[(warn, "warn"), (crit, "crit")])
        for value in (warn, crit):
            own = f"{value:.0f}%"
            rows = [line for line in lines if f" {own} " in line and DASH in line]
            assert rows, f"h={height}: no line labelled {own}\n" + "\n".join(lines)
            label = axis_label(rows[0])
            assert label in ("", f"{warn:.0f}%", f"{crit:.0f}%"), (
                f"h={height}: the {own} threshold's row is labelled {label!r} on the axis\n"
                + "\n".join(lines))


def test_two_thresholds_on_one_row_both_keep_their_labels() -> None:
    pts = [(i * 60.0, 20.0 + (i % 10) * 2.5) for i in range(60)]
    lines = render([Series("cpu", pts)], width=60, height=5, unit="%", t0=0, t1=3540,
                   thresholds=[(80.0, "warn"), (95.0, "crit")])
    text = "\n".join(lines)
    assert "warn 80%" in text and "crit 95%" in text, text
    shared = next(line for line in lines if "crit 95%" in line)
    assert axis_label(shared) in ("", "80%", "95%"), text
