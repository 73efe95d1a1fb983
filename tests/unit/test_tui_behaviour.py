"""Pilot tests of the console's behaviour: alerts, connection, paging, sorting, repaints."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from tests.snapshots.frozen_app import make_app, ops, type_text, until
from tui.messages import AlertChanged, ConnectionState, HostChanged, MetricsUpdate
from tui.sources import frozen_data
from tui.sources.frozen import FrozenSource
from tui.sources.live import LiveSource
from tui.widgets.alert_table import AlertTable
from tui.widgets.host_table import HostTable

SIZE = (80, 24)


def app_(**kwargs: Any):
    return make_app(refresh_s=0.05, **kwargs)


def critical(aid: str = "new1") -> dict[str, Any]:
    return frozen_data.alert(aid, "high_cpu_usage", "web-1", "critical", "cpu.percent", 99.0,
                             95.0, frozen_data.NOW)


async def test_new_critical_rings_the_bell_when_asked() -> None:
    app = app_()
    app.bell_on_critical = True
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.alerts, what="snapshot")
        app.post_message(AlertChanged("frozen", critical()))
        await until(pilot, lambda: rings, what="bell")
        assert "3 unacked critical" in app.title
        app.post_message(AlertChanged("frozen", dict(critical(), value=99.5)))  # same alert
        await until(pilot, lambda: app.model.alerts["new1"]["value"] == 99.5, what="update")
        assert len(rings) == 1


async def test_reconnecting_dims_the_data_and_says_so() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ever_connected, what="connected")
        assert not app.has_class("-stale")
        app.post_message(ConnectionState("frozen", "reconnecting", "lost"))
        await until(pilot, lambda: app.has_class("-stale"), what="dimmed")
        assert app.sub_title == "reconnecting"
        app.post_message(ConnectionState("frozen", "connected", "back"))
        await until(pilot, lambda: not app.has_class("-stale"), what="undimmed")


async def test_unreachable_at_start_exits_with_the_reason() -> None:
    app = make_app(live=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: not app.is_running, what="exit")
    assert app.return_code == 1


def app_with_log_lines(n: int) -> Any:
    snap = frozen_data.snapshot()
    snap["events"] = [frozen_data.event("log", f"line {i}", frozen_data.NOW - i, host="web-1",
                                        eid=f"l{i:03d}") for i in range(n)]
    return make_app(refresh_s=0.05, snapshot=snap)


async def search_first_page(app: Any, pilot: Any) -> DataTable:
    """Search kind:log on the event log screen and wait for the first page of 100."""
    await pilot.press("3", "slash")
    await type_text(pilot, "kind:log")
    await pilot.press("enter")
    table = app.screen.query_one("#events", DataTable)
    await until(pilot, lambda: table.row_count == 100, what="first page")
    return table


async def test_search_results_page_as_you_scroll() -> None:
    app = app_with_log_lines(250)
    async with app.run_test(size=SIZE) as pilot:
        table = await search_first_page(app, pilot)
        table.move_cursor(row=99)
        await until(pilot, lambda: table.row_count == 200, what="second page")
        last = ops(app, "search")[-1]
        assert {k: last[k] for k in ("query", "limit", "before_ts")} == {
            "query": "kind:log", "limit": 100, "before_ts": frozen_data.NOW - 99}
        assert isinstance(last["before_seq"], int)  # the store's seq: exact paging
        table.move_cursor(row=199)
        await until(pilot, lambda: table.row_count == 250, what="last page")
        table.move_cursor(row=249)
        await pilot.pause()
        assert len(ops(app, "search")) == 3  # a short page means there is no more


async def test_host_screen_fetches_history_of_the_highlighted_metric() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.hosts, what="hosts")
        await pilot.press("4")
        await until(pilot, lambda: ops(app, "history"), what="history")
        assert ops(app, "history")[0]["metric"] == "cpu.percent"
        table = app.screen.query_one("#metrics", DataTable)
        table.move_cursor(row=table.get_row_index("mem.percent"))
        await until(pilot, lambda: any(a["metric"] == "mem.percent" for a in ops(app, "history")),
                    what="mem history")
        assert ops(app, "search")[-1]["query"] == "host:web-2 kind:log"


async def test_enter_on_the_feed_opens_that_alert() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        feed = app.screen.query_one("#feed", AlertTable)
        await until(pilot, lambda: "b2d15c00" in feed._ids, what="feed")
        feed.focus()
        feed.move_cursor(row=feed._ids.index("b2d15c00"))
        await pilot.press("enter")  # its incident view, over the dashboard
        await until(pilot, lambda: (app.screen.selected_alert() or {}).get("id") == "b2d15c00"
                    and type(app.screen).__name__ == "IncidentScreen", what="that incident")
        await pilot.press("escape")
        await until(pilot, lambda: app.current_mode == "dashboard"
                    and type(app.screen).__name__ == "DashboardScreen", what="back")


async def test_o_sorts_by_the_next_column_biggest_first() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count == 14, what="rows")
        await pilot.press("o")  # host -> cpu
        await until(pilot, lambda: table.sort_column == "cpu" and table._order[0] == "web-2",
                    what="sorted by cpu")
        await pilot.press("r")
        await until(pilot, lambda: table._order[0] == "batch-1", what="reversed")
        assert app.selected_host == "web-2"  # the selection follows the host, not the row


async def test_host_down_changes_its_row() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count, what="rows")
        app.post_message(HostChanged("frozen", "web-1", "down", frozen_data.NOW))
        await until(pilot, lambda: str(table.get_cell("web-1", "dot")) == "○", what="down dot")


async def test_metrics_repaint_only_the_changed_cells() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count == 14 and "web-2" in table.visible_hosts()
                    and "web-2" in table._shown, what="rows")
        updates: list[tuple[str, str]] = []
        clears: list[int] = []
        original = table.update_cell
        table.update_cell = lambda r, c, v, **k: (updates.append((r, c)),  # type: ignore
                                                  original(r, c, v, **k))
        table.clear = lambda *a, **k: clears.append(1)  # type: ignore[method-assign]
        app.post_message(MetricsUpdate("frozen", {"web-2": (frozen_data.NOW,
                                                            {"cpu.percent": 12.0})}))
        await until(pilot, lambda: updates, what="a repaint")
        assert updates == [("web-2", "cpu"), ("web-2", "spark")] and clears == []


async def test_rows_off_screen_catch_up_when_scrolled_to() -> None:
    snap = frozen_data.snapshot(n_extra=100)
    app = make_app(refresh_s=0.05, snapshot=snap, select="api-1")
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count == 114, what="rows")
        last = table._order[-1]
        app.post_message(MetricsUpdate("frozen", {last: (frozen_data.NOW,
                                                         {"cpu.percent": 1.0})}))
        await until(pilot, lambda: app.model.hosts[last].metrics["cpu.percent"] == 1.0,
                    what="model")
        await until(pilot, lambda: last in table._stale, what="stale off screen")
        table.move_cursor(row=113)
        await until(pilot, lambda: str(table.get_cell(last, "cpu")) == "1%", what="caught up")


async def test_requests_for_an_alert_go_to_the_brokers_that_have_it() -> None:
    app = make_app(refresh_s=0.05, snapshot=frozen_data.snapshot())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.alerts, what="alerts")
        assert app.brokers_of("a1c0ffee") == ["frozen"]
    source = LiveSource({"b1": ("tcp://h1:5557", "tcp://h1:5556"),
                         "b2": ("tcp://h2:5557", "tcp://h2:5556")})
    source.request("ack", {"alert_id": "x"}, ["b2"])
    source.request("search", {"query": ""})
    assert source.links["b2"].requests.qsize() == 1
    assert source.links["b1"].requests.qsize() == 1  # queries go to the first broker up


def test_frozen_source_answers_like_a_broker() -> None:
    src = FrozenSource()
    posted: list[Any] = []

    class App:
        def post_message(self, m: Any) -> None:
            posted.append(m)
    src.app = App()  # type: ignore[assignment]
    src.request("ack", {"alert_id": "nope"})
    assert not posted[-1].ok and "no alert" in posted[-1].error
    src.request("silence", {"matchers": []})
    assert not posted[-1].ok
    src.request("history", {"host": "web-1", "metric": "cpu.percent"})
    assert posted[-1].ok and len(posted[-1].result) == 60
    src.request("history", {"host": "web-1", "metric": "cpu.percent", "step": 60})
    assert not posted[-1].ok and "unknown step" in posted[-1].error  # as a broker says
    src.stop()


async def test_last_seen_of_a_quiet_host_moves_with_the_clock() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count, what="rows")
        assert str(table.get_cell("batch-1", "seen")) == "12m"
        app.source.clock.advance(3600)
        await until(pilot, lambda: str(table.get_cell("batch-1", "seen")) == "1h",
                    what="age moved")


async def test_scrolling_the_results_with_the_mouse_fetches_the_next_page() -> None:
    app = app_with_log_lines(150)
    async with app.run_test(size=SIZE) as pilot:
        table = await search_first_page(app, pilot)
        table.scroll_end(animate=False)
        await until(pilot, lambda: table.row_count == 150, what="second page")
        assert table.cursor_row == 0  # the cursor did not move: the scroll did it


async def test_alert_timeline_grows_with_live_events() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        detail = await until(pilot, lambda: app.current_mode == "alerts"
                             and app.screen.query_one("#detail"), what="alerts")
        await until(pilot, lambda: "slack #ops" in str(detail.render()), what="timeline")
        await pilot.press("a", "enter")
        await until(pilot, lambda: "acknowledged" in str(detail.render()), what="ack in timeline")


async def test_a_burst_of_criticals_shares_one_toast() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.alerts, what="snapshot")
        for i in range(5):
            app.post_message(AlertChanged("frozen", critical(f"burst{i}")))
        await until(pilot, lambda: app._notifications, what="toast")
        await until(pilot, lambda: "7 unacked critical" in app.title, what="title")
        texts = [n.message for n in app._notifications]
        assert len(texts) == 1 and texts[0].startswith("CRITICAL · 5 new: ")


async def test_data_is_shown_as_text_never_as_markup_or_terminal_codes() -> None:
    """A log line `mount [/data] failed` is a Rich closing tag, and ANSI colours are common
    in logs: both reached the screen as they were (a crash, a cleared terminal)."""
    snap = frozen_data.snapshot()
    line = "mount [/data] failed \x1b[31mred\x1b[0m \x1b[2J"
    snap["events"] = [frozen_data.event("log", line, frozen_data.NOW, host="web-2", eid="l1")]
    snap["hosts"][0]["metrics"]["odd.[/x].percent"] = 1.0
    app = make_app(refresh_s=0.05, snapshot=snap, select=snap["hosts"][0]["host"])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.alerts, what="snapshot")
        app.post_message(AlertChanged("frozen", dict(critical("m1"), summary="[/b] at 99%")))
        await until(pilot, lambda: app._notifications, what="toast")
        await pilot.press("3")
        table = await until(pilot, lambda: app.current_mode == "events"
                            and app.screen.query_one("#events", DataTable), what="events")
        await until(pilot, lambda: table.row_count, what="the log line")
        shown = str(table.get_row_at(0)[-1])
        assert shown == "mount [/data] failed red "
        await pilot.press("4")
        metrics = await until(pilot, lambda: app.current_mode == "host"
                              and app.screen.query_one("#metrics", DataTable), what="host")
        await until(pilot, lambda: "odd.[/x].percent" in metrics.rows, what="the odd metric")
        await pilot.pause()
        assert app.is_running
        assert "[/b] at 99%" in [n.message for n in app._notifications][0]
