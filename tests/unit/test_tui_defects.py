"""Regression tests of issue 10's console defects that live in the TUI alone (FrozenSource).

The defects that involve the broker have theirs against a real broker process in
tests/integration/test_tui_defects_live.py.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual import events
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from tests.snapshots.frozen_app import make_app, ops, until
from tui.format import sparkline
from tui.messages import AlertChanged
from tui.screens.dialogs import AckDialog, DetailDialog, SimulateDialog, detail_lines
from tui.screens.help import HelpScreen
from tui.sources import frozen_data
from tui.widgets.alert_table import AlertTable
from tui.widgets.host_table import HostTable

SIZE = (80, 24)
NOW = frozen_data.NOW


def app_(**kwargs: Any) -> Any:
    return make_app(refresh_s=0.05, **kwargs)


def plain(renderable: Any) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def burst(app: Any, text: str) -> None:
    """Keys as they arrive over SSH: all queued at once, none waits for a repaint."""
    names = {"/": "slash", ":": "colon", " ": "space", "\n": "enter", "-": "minus"}
    for ch in text:
        app.post_message(events.Key(names.get(ch, ch), None if ch == "\n" else ch))


# 1 -------------------------------------------------------------------- alert table keys
async def test_alert_table_rebuild_never_raises_whatever_the_order() -> None:
    """A critical after the warning group (it went pending then inactive) made a second
    `group:critical` row: DuplicateKey, and the app died."""
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table = await until(pilot, lambda: app.current_mode == "alerts"
                            and app.screen.query_one(AlertTable), what="alerts screen")
        crit = frozen_data.alert("c1", "high_cpu_usage", "web-1", "critical", "cpu.percent",
                                 97.0, 95.0, NOW - 10)
        warn = frozen_data.alert("w1", "high_memory_usage", "web-2", "warning", "mem.percent",
                                 91.0, 85.0, NOW - 20)
        late = {**crit, "id": "c2", "host": "web-3", "state": "inactive"}
        table.show([crit, warn, late, crit], NOW, version=12345)  # repeated id, odd order
        keys = [row.key.value for row in table.ordered_rows]
        assert len(keys) == len(set(keys))
        assert keys.count("c1") == 1


async def test_an_alert_gone_inactive_leaves_the_console() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: "a7c5e400" in app.model.alerts, what="pending alert")
        pending = dict(app.model.alerts["a7c5e400"])
        app.post_message(AlertChanged("frozen", {**pending, "state": "inactive"}))
        table = app.screen.query_one(AlertTable)
        await until(pilot, lambda: "a7c5e400" not in app.model.alerts, what="dropped")
        await until(pilot, lambda: "a7c5e400" not in table._ids, what="row gone")
        assert not any("inactive" in str(row) for row in table._ids if row)


# 4 -------------------------------------------------------------------- units on the host screen
async def test_host_screen_formats_values_by_unit_and_never_cuts_them() -> None:
    snap = frozen_data.snapshot()
    web2 = next(h for h in snap["hosts"] if h["host"] == "web-2")
    web2["metrics"].update({"mem.total": 25_325_268_992.0, "uptime": 5400.0})
    app = app_(snapshot=snap)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.hosts, what="hosts")
        await pilot.press("4")
        table = await until(pilot, lambda: app.current_mode == "host" and app.screen.query_one(
            "#metrics", DataTable), what="host screen")
        await until(pilot, lambda: table.row_count > 5, what="metrics")
        assert str(table.get_cell("mem.total", "value")) == "23.6 GiB"
        assert str(table.get_cell("uptime", "value")) == "1.5h"
        assert str(table.get_cell("net.eth0.rx_bps", "value")).endswith("B/s")
        value_col = table.columns[ColumnKey("value")]
        widest = max(len(str(table.get_cell(k, "value"))) for k in web2["metrics"])
        assert value_col.get_render_width(table) - 2 * table.cell_padding >= widest


# 5 -------------------------------------------------------------------- keys after `/`
async def test_a_burst_after_slash_goes_to_the_filter_not_to_quit() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.ready, what="dashboard")
        burst(app, "/queue")
        box = app.screen.query_one("#filter", Input)
        await until(pilot, lambda: box.value == "queue", what="filter text")
        assert app.is_running and app.return_code is None


async def test_a_burst_after_slash_on_alerts_searches_and_runs_no_command() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: app.current_mode == "alerts", what="alerts")
        burst(app, "/kind:alert sim\n")
        await until(pilot, lambda: ops(app, "search") and any(
            a["query"] == "kind:alert sim" for a in ops(app, "search")), what="search")
        assert app.current_mode == "events"
        assert not isinstance(app.screen, SimulateDialog) and ops(app, "simulate") == []
        assert app.screen.query_one("#query", Input).value == "kind:alert sim"
        assert app.is_running


async def test_a_filter_that_matches_no_host_leaves_an_empty_table_not_a_crash() -> None:
    """Found driving it by hand: `/queue` on 200 hosts emptied the table, the table
    highlighted "no row" (row_key None) and the app died on an AttributeError."""
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = await until(pilot, lambda: app.screen.ready and app.screen.query_one(
            "#hosts", HostTable), what="dashboard")
        await until(pilot, lambda: table.row_count > 5, what="rows")
        burst(app, "/zzz-no-such-host")
        await until(pilot, lambda: table.row_count == 0, what="empty table")
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None
        burst(app, "\n")  # enter: the (empty) table has focus again
        await pilot.press("down", "end", "home", "up", "pagedown")
        assert app.is_running and app.return_code is None
        await pilot.press("slash", "escape")
        await until(pilot, lambda: table.row_count > 5, what="rows back")


async def test_two_enters_close_a_dialog_once() -> None:
    """Found driving it by hand: Enter Enter in the ack dialog acked twice, and the second
    dismiss popped the screen under the dialog: ScreenStackError, the app died."""
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: app.screen.selected_alert() is not None, what="selection")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AckDialog), what="ack dialog")
        burst(app, "\n\n\n")
        await until(pilot, lambda: not isinstance(app.screen, AckDialog), what="closed")
        await pilot.pause(0.2)
        assert app.is_running and app.current_mode == "alerts"
        assert len(ops(app, "ack")) == 1


# 7 -------------------------------------------------------------------- alert values
async def test_feed_shows_the_live_value_the_rule_operator_and_the_whole_threshold() -> None:
    snap = frozen_data.snapshot()
    below = frozen_data.alert("lo1", "few_workers", "web-1", "critical", "queue.workers", 3.0,
                              100.0, NOW - 30)
    big = frozen_data.alert("big1", "many_procs", "web-3", "critical", "conn.count", 277.9,
                            100.0, NOW - 40)
    snap["alerts"] += [{**below, "op": "<"}, big]
    web2 = next(h for h in snap["hosts"] if h["host"] == "web-2")
    web2["metrics"]["cpu.percent"] = 99.8  # the alert's own value says 97.0
    app = app_(snapshot=snap)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        table = await until(pilot, lambda: app.current_mode == "alerts"
                            and app.screen.query_one(AlertTable), what="alerts screen")
        await until(pilot, lambda: "lo1" in table._ids, what="rows")
        assert str(table.get_cell("lo1", "value")) == "3 < 100"
        assert str(table.get_cell("big1", "value")) == "278 > 100"
        assert str(table.get_cell("a1c0ffee", "value")) == "99.8% > 95.0%"
        col = table.columns[ColumnKey("value")]
        assert col.get_render_width(table) - 2 * table.cell_padding >= len("99.8% > 95.0%")


# 9 -------------------------------------------------------------------- ctrl+c
async def test_ctrl_c_quits_with_130() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash")  # even from a search box, where ctrl+c means copy
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.is_running or app._exit, what="exit")
    assert app.return_code == 130


# 10 ------------------------------------------------------------------- smaller ones
async def test_event_log_host_column_fits_the_host_names() -> None:
    snap = frozen_data.snapshot()
    snap["events"] = [frozen_data.event("log", f"line {i}", NOW - i, host=f"worker-{i:03d}")
                      for i in range(1, 10)]
    app = app_(snapshot=snap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        table = await until(pilot, lambda: app.current_mode == "events" and app.screen.query_one(
            "#events", DataTable), what="events")
        await until(pilot, lambda: table.row_count == 9, what="rows")
        col = table.columns[ColumnKey("host")]
        assert col.get_render_width(table) - 2 * table.cell_padding >= len("worker-001")


async def test_help_and_palette_list_the_sort_keys() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.ready, what="dashboard")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Sort (o)" in titles and "Reverse (r)" in titles
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = plain(app.screen.query_one("#help").query_one(Static).content)
        assert "Sort the hosts" in text and "Reverse the sort" in text


async def test_end_goes_to_the_last_row() -> None:
    snap = frozen_data.snapshot(n_extra=60)
    app = app_(snapshot=snap)
    async with app.run_test(size=SIZE) as pilot:
        table = await until(pilot, lambda: app.screen.ready and app.screen.query_one(
            "#hosts", HostTable), what="dashboard")
        await until(pilot, lambda: table.row_count > 60, what="rows")
        await pilot.press("end")
        await until(pilot, lambda: table.cursor_row == table.row_count - 1, what="last row")
        assert table.scroll_x == 0
        await pilot.press("home")
        await until(pilot, lambda: table.cursor_row == 0, what="first row")


async def test_event_detail_shows_dates_and_fields_not_json() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: app.current_mode == "events" and app.screen._rows,
                    what="events")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailDialog), what="detail")
        text = plain(app.screen.query_one(".fields", Static).content)
        assert "2023-11-14" in text
        assert str(int(app.screen.record["ts"])) not in text
        assert "{" not in text
    lines = detail_lines({"ts": NOW, "data": {"from": "pending", "to": "firing"}})
    assert lines[1].strip() == "data:" and lines[2].strip() == "from  pending"


def test_a_constant_series_is_a_flat_line() -> None:
    assert sparkline([4.0] * 10, 10, lo=0.0) == "▁" * 10
    assert sparkline([4.0] * 10, 10, lo=0.0, hi=8.0) == "▅" * 10  # scaled: a real level


@pytest.mark.parametrize(("state", "reason"), [
    ("failing", "database or disk is full"),
    ("corrupt", "event store e.db is corrupt (quick_check: page 7)")])
async def test_a_failing_store_is_shown_on_the_dashboard_at_once(state: str,
                                                                 reason: str) -> None:
    """Issue 11: status and the TUI show ``store: failing <reason>``; the broker's side is
    tests/chaos/test_chaos_store.py (a full tmpfs, a read-only data dir)."""
    from tui.messages import BrokerStatus
    from tui.widgets.summary import SummaryBar

    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        bar = await until(pilot, lambda: app.screen.query(SummaryBar).first(), what="bar")
        await until(pilot, lambda: "up" in str(bar.render()), what="summary")
        assert "store:" not in str(bar.render())
        app.post_message(BrokerStatus("frozen", {"store": {"state": state, "reason": reason}}))
        text = await until(pilot, lambda: "store:" in str(bar.render()) and str(bar.render()),
                           what="the store line")
        assert f"store: {state} {reason}"[:60] in text


async def test_f_forgets_the_selected_host_after_a_confirmation() -> None:
    """Issue 11: retire a host from the console (monitor-ctl forget does it from a shell)."""
    from tui.screens.dialogs import ForgetDialog

    app = app_(select="")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.selected_host, what="a selected host")
        host = app.selected_host
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, ForgetDialog), what="the dialog")
        await pilot.press("escape")  # cancelled: nothing sent
        assert not ops(app, "forget")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, ForgetDialog), what="the dialog")
        await pilot.click("#ok")
        await until(pilot, lambda: ops(app, "forget"), what="the request")
        assert ops(app, "forget") == [{"host": host, "author": app.author}]
        app.model.apply_host("frozen", host, "forgotten", NOW)  # the broker's host frame
        assert host not in app.model.hosts
