"""Toasts at 80x24 leave the charts, the host table and the gauges visible (tui/toasts.py)."""

from __future__ import annotations

from textual.widgets import DataTable
from textual.widgets._toast import Toast

from tests.snapshots.frozen_app import make_app, until
from tui import messages as msg
from tui.toasts import CRITICAL_TIMEOUT_S, MAX_TOASTS, fit, text_width
from tui.widgets.gauges import HostGauges
from tui.widgets.host_table import HostTable
from tui.widgets.metric_chart import MetricChart

SIZE = (80, 24)
NEW_CRITICAL = {"id": "c0ffee99", "rule": "high_cpu_usage", "host": "db-2",
                "severity": "critical", "state": "firing", "value": 97.2,
                "summary": "CPU on db-2 at 97%"}


def toasts(app) -> list[Toast]:
    return list(app.screen.query(Toast))


def overlaps(a, b) -> bool:
    return bool(a.region.intersection(b.region).area)


async def critical_then_replies(app, pilot) -> list[Toast]:
    """A new critical (through the app's own message path), then two replies' toasts."""
    app.post_message(msg.AlertChanged("frozen", dict(NEW_CRITICAL)))
    await until(pilot, lambda: any("CPU on db-2 at 97%" in str(t.render())
                                   for t in toasts(app)), what="the critical toast")
    app.notify("ack: done", timeout=3)
    app.notify("silenced host=db-2 for 1h", timeout=3)
    await until(pilot, lambda: any("silenced" in str(t.render()) for t in toasts(app)),
                what="the newest toast")
    await pilot.pause()
    return toasts(app)


async def test_toasts_on_the_host_screen_leave_chart_and_metrics_visible() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("4")
        chart = await until(pilot, lambda: app.screen.query(MetricChart), what="chart")
        shown = await critical_then_replies(app, pilot)
        metrics = app.screen.query_one("#metrics", DataTable)
        for toast in shown:
            assert not overlaps(toast, chart.first()), f"{toast.region} hides the chart"
            assert not overlaps(toast, metrics), f"{toast.region} hides the metrics"
            assert toast.region.right <= SIZE[0] and toast.region.bottom <= SIZE[1] - 1
        assert len(shown) <= MAX_TOASTS


async def test_toasts_on_the_dashboard_leave_hosts_and_gauges_visible() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.screen.query(HostGauges), what="gauges")
        shown = await critical_then_replies(app, pilot)
        for toast in shown:
            assert not overlaps(toast, app.screen.query_one(HostTable)), toast.region
            assert not overlaps(toast, app.screen.query_one(HostGauges)), toast.region
        assert len(shown) <= MAX_TOASTS


async def test_critical_toast_is_short_lived_and_keeps_rule_host_and_value() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.post_message(msg.AlertChanged("frozen", dict(NEW_CRITICAL)))
        await until(pilot, lambda: list(app._notifications), what="the critical toast")
        (note,) = list(app._notifications)
        assert note.severity == "error" and note.timeout == CRITICAL_TIMEOUT_S <= 6
        # the host once when the summary names it: the whole alert in the toast's two lines
        assert note.message == "CRITICAL · high_cpu_usage: CPU on db-2 at 97%"
        toast = await until(pilot, lambda: toasts(app), what="toast drawn")
        assert toast[0].content_region.width == text_width(SIZE[0])
        assert toast[0].region.height == 2  # two lines of text, no blank rows


def test_fit_cuts_at_a_word_to_two_lines_and_says_so() -> None:
    short = "CRITICAL · high_cpu_usage on db-2: CPU on db-2 at 97%"
    assert fit(short, 32) == short
    long = "CRITICAL · 4 new critical alerts: high_cpu_usage on web-2, disk_full on db-1, x"
    cut = fit(long, 32)
    assert cut.endswith(" …") and long.startswith(cut[:-2])
    assert len(__import__("textwrap").wrap(cut, 32)) == 2
