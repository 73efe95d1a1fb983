"""Pilot tests of the trend charts against FrozenSource (the broker's own handlers over a
store of 30 days of frozen rollups): the host screen's range keys, latest-wins requests,
an inline refusal, the live tail, threshold lines, and the compare screen."""

from __future__ import annotations

from typing import Any

from tests.snapshots.frozen_app import make_app, ops, until
from tui.messages import Reply
from tui.screens.compare import CompareScreen
from tui.screens.help import binding_rows
from tui.sources import frozen_data
from tui.sources.frozen import FrozenSource
from tui.widgets.alert_table import AlertTable
from tui.widgets.metric_chart import MetricChart
from tui.widgets.trend_chart import TrendChart

SIZE = (80, 24)
NOW = frozen_data.NOW


async def host_chart(app: Any, pilot: Any) -> tuple[MetricChart, TrendChart]:
    await pilot.press("4")
    await until(pilot, lambda: app.current_mode == "host", what="host screen")
    chart = app.screen.query_one(TrendChart)
    await until(pilot, lambda: chart.message is None and chart.series, timeout=10,
                what="the chart drawn")
    return app.screen.query_one(MetricChart), chart


async def test_host_screen_draws_the_highlighted_metric_with_band_and_thresholds() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        mc, chart = await host_chart(app, pilot)
        [req] = ops(app, "history")
        assert req["host"] == "web-2" and req["metric"] == "cpu.percent"
        assert req["step"] == "1m" and req["recent"] is True
        assert req["until"] - req["since"] == 3600
        s = chart.series[0]
        assert len(s.points) >= 50 and s.low and s.high
        assert chart.t1 - chart.t0 == 3600
        await until(pilot, lambda: chart.thresholds, what="threshold lines")
        assert {v for v, _ in chart.thresholds} == {80.0, 95.0}  # high_cpu_usage's levels
        text = str(chart.render())
        assert "crit 95%" in text and "warn 80%" in text
        assert "1h" in str(app.screen.query_one("#chart-title").render())


async def test_range_keys_switch_and_come_back_from_the_cache() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        mc, chart = await host_chart(app, pilot)
        spans = []
        for key in ["greater_than_sign"] * 5:  # 6h 24h 7d 30d, then 30d stays
            await pilot.press(key)
            await until(pilot, lambda: chart.message is None
                        and mc.shown and mc.shown[0][2] == mc.range, what="range drawn")
            spans.append(chart.t1 - chart.t0)
        assert spans == [6 * 3600, 86400, 7 * 86400, 30 * 86400, 30 * 86400]
        steps = [(r["until"] - r["since"], r["step"]) for r in ops(app, "history")]
        assert steps[-1] == (30 * 86400, "1h") and (7 * 86400, "1h") in steps
        assert len(chart.series[0].points) >= 700  # 30 days of hourly rollups
        sent = len(ops(app, "history"))
        await pilot.press("less_than_sign", "less_than_sign")  # 7d, 24h: cached
        await until(pilot, lambda: chart.t1 - chart.t0 == 86400, what="24h again")
        assert len(ops(app, "history")) == sent  # no new request
        for _ in range(6):
            await pilot.press("less_than_sign")
        await until(pilot, lambda: chart.t1 - chart.t0 == 900, what="15m")
        assert mc.range_name == "15m"


async def test_fast_range_switches_send_only_the_latest() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        mc, chart = await host_chart(app, pilot)
        before = len(ops(app, "history"))
        for _ in range(4):  # four presses before any reply is handled: 6h is out, then 30d
            mc.step_range(1)
        await until(pilot, lambda: chart.message is None and chart.t1 - chart.t0 == 30 * 86400,
                    timeout=10, what="30d drawn")
        spans = [r["until"] - r["since"] for r in ops(app, "history")[before:]]
        assert spans == [6 * 3600, 30 * 86400]


class Refusing(FrozenSource):
    def request(self, op: str, args: dict[str, Any], brokers: list[str] | None = None,
                req_id: str | None = None) -> str:
        if op != "history":
            return super().request(op, args, brokers, req_id)
        req_id = req_id or self.next_id()
        self.requests.append((op, dict(args)))
        self.post(Reply(req_id, op, False, error="history: the event store is not enabled "
                        "on this broker", source=self.name))
        return req_id


async def test_a_refused_history_is_one_line_in_the_chart_not_a_toast() -> None:
    from tui.app import MonitorApp

    app = MonitorApp(Refusing(), author="ana", refresh_s=0.05)
    app.selected_host = "web-2"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        chart = app.screen.query_one(TrendChart)
        await until(pilot, lambda: chart.message is not None
                    and "not enabled" in chart.message.plain, what="inline error")
        toasts = len(app._notifications)
        for key in ["greater_than_sign", "greater_than_sign", "less_than_sign"]:
            await pilot.press(key)
        await until(pilot, lambda: chart.message is not None
                    and "not enabled" in chart.message.plain, what="still inline")
        assert len(app._notifications) == toasts


async def test_the_live_tail_extends_the_line() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        mc, chart = await host_chart(app, pilot)
        app.model.apply_metrics("frozen", "web-2", NOW + 5, {"cpu.percent": 12.5})
        await until(pilot, lambda: chart.series[0].points[-1] == (NOW + 5, 12.5),
                    what="the new sample on the line")
        assert chart.t1 == NOW + 5 and chart.t1 - chart.t0 == 3600  # the window follows


async def test_keys_are_in_help_and_palette() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await host_chart(app, pilot)
        keys = dict(binding_rows(list(app.BINDINGS), app.screen))
        assert "<" in keys and ">" in keys
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any("Longer range (>)" in t for t in titles)
        await pilot.press("1")
        await until(pilot, lambda: app.current_mode == "dashboard", what="dashboard")
        keys = dict(binding_rows(list(app.BINDINGS), app.screen))
        assert "space" in keys and "v" in keys


async def test_compare_charts_every_marked_host() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.selected_host == "web-2" and app.model.hosts,
                    what="dashboard")
        await pilot.press("v")  # nothing marked: a warning, no screen
        await until(pilot, lambda: app._notifications, what="warning")
        assert not isinstance(app.screen, CompareScreen)
        from tui.widgets.host_table import HostTable

        table = app.screen.query_one(HostTable)
        order = [table.selected_host]
        await pilot.press("space", "down", "space", "down", "space", "space")  # the last twice:
        order += [table.selected_host]  # marked and unmarked again
        await until(pilot, lambda: len(app.marked_hosts) == 2, what="two marked")
        assert order[0] in app.marked_hosts and order[1] not in app.marked_hosts
        assert "2 marked" in app.sub_title  # the header says so (no toast per key)
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
        chart = app.screen.query_one(TrendChart)
        await until(pilot, lambda: chart.message is None and len(chart.series) == 2,
                    timeout=10, what="two series")
        assert [s.label for s in chart.series] == sorted(app.marked_hosts)
        legend = chart.legend().plain
        assert all(h in legend for h in app.marked_hosts)
        styles = {chart._series_style(i) for i in range(2)}
        assert len(styles) == 2  # distinguishable
        await pilot.press("m")
        await until(pilot, lambda: app.screen.metric != "cpu.percent", what="next metric")
        metric = app.screen.metric
        await until(pilot, lambda: {r["metric"] for r in ops(app, "history")} >= {metric},
                    what="history of the next metric")
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: chart.t1 - chart.t0 == 6 * 3600 and chart.message is None,
                    what="6h")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CompareScreen), what="back")
        assert app.current_mode == "dashboard"
        await pilot.press("v")  # a view key leaves the compare chart, as it leaves an incident
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare again")
        await pilot.press("1")
        await until(pilot, lambda: not isinstance(app.screen, CompareScreen), what="1 leaves it")
        assert app.current_mode == "dashboard"


async def test_live_samples_join_the_rollups_without_a_gap() -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        mc, chart = await host_chart(app, pilot)
        await pilot.press("less_than_sign")  # 15m: a column is ~14 s
        await until(pilot, lambda: chart.t1 - chart.t0 == 900 and chart.message is None,
                    what="15m")
        assert chart.series[0].gap == 150.0  # 2.5 one-minute steps, kept by show()
        for i in range(1, 30):  # a sample a second, as an agent sends them
            app.model.apply_metrics("frozen", "web-2", NOW + i, {"cpu.percent": 50.0})
            mc.tick(app.model)
        chart.thresholds = []  # their labels would cover the line's end
        lines = [line for line in chart.render().plain.splitlines() if "┤" in line
                 or "│" in line]
        cols = sorted({c for line in lines for c, ch in enumerate(line)
                       if 0x2800 < ord(ch) <= 0x28FF})
        assert cols == list(range(cols[0], cols[-1] + 1)), "\n".join(lines)


class Held(FrozenSource):
    """Answers history only when the test lets it (a slow broker)."""

    hold = False

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[str, dict[str, Any], str]] = []

    def request(self, op: str, args: dict[str, Any], brokers: list[str] | None = None,
                req_id: str | None = None) -> str:
        if op == "history" and self.hold:
            req_id = req_id or self.next_id()
            self.held.append((op, args, req_id))
            return req_id
        return super().request(op, args, brokers, req_id)

    def release(self) -> None:
        held, self.held, self.hold = self.held, [], False
        for op, args, req_id in held:
            super().request(op, args, None, req_id)


async def test_a_slow_range_keeps_the_last_chart_and_says_loading() -> None:
    from tui.app import MonitorApp

    src = Held()
    app = MonitorApp(src, author="ana", refresh_s=0.05)
    app.selected_host = "web-2"
    async with app.run_test(size=SIZE) as pilot:
        mc, chart = await host_chart(app, pilot)
        src.hold = True
        for _ in range(3):
            await pilot.press("greater_than_sign")
        title = app.screen.query_one("#chart-title")
        await until(pilot, lambda: "loading 7d" in str(title.render()), what="loading in title")
        assert chart.message is None and chart.t1 - chart.t0 == 3600  # the 1h chart stays
        assert len(src.held) == 1  # 6h went out; 24h and 7d wait for it (latest wins)
        src.release()
        await until(pilot, lambda: chart.t1 - chart.t0 == 7 * 86400 and not mc.waiting,
                    timeout=10, what="7d drawn")
        assert "loading" not in str(title.render())


async def test_a_reply_that_comes_after_its_chart_closed_is_dropped() -> None:
    """Seen in a 10-minute `--demo` at 160x50: the compare chart's thresholds arrived after
    escape had closed it, and painting the gone chart crashed the console (NoMatches)."""
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: app.selected_host == "web-2" and app.model.hosts,
                    what="dashboard")
        await pilot.press("space", "down", "space", "v")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
        mc = app.screen.query_one(MetricChart)
        await mc.query_one(TrendChart).remove()  # mid-close: the chart's child already gone
        pair = ("late-host", "cpu.percent")
        mc._got_thresholds(pair, Reply(req_id="late-1", op="rules", ok=True, result={
            "thresholds": [{"rule": "r", "metric": "cpu.percent", "op": ">",
                            "warning": 80.0, "critical": 95.0}]}))  # raised NoMatches
        mc.load()  # a late history reply reloads: nothing to draw on, nothing raised
        await pilot.press("escape", "2")  # still answering keys
        await until(pilot, lambda: app.current_mode == "alerts", what="alerts screen")
        assert app.screen.query(AlertTable)
