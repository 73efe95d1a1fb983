"""Dashboard density (issue 16 part 3) against the frozen source: the sort keys, compact
mode, the filter language with its inline errors, the per-user settings file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from tests.snapshots.frozen_app import make_app, type_text, until
from tui.app import MonitorApp
from tui.model import DIGEST_HISTORY, HISTORY, FleetModel
from tui.sources import frozen_data
from tui.sources.frozen import FrozenSource
from tui.widgets.gauges import HostGauges
from tui.widgets.host_table import HostTable

SIZE = (80, 24)


def app_(**kwargs: Any) -> MonitorApp:
    return make_app(refresh_s=0.05, **kwargs)


async def table_of(app: MonitorApp, pilot: Any, rows: int = 14) -> HostTable:
    table = app.screen.query_one(HostTable)
    await until(pilot, lambda: table.row_count == rows, what=f"{rows} rows")
    return table


async def test_sort_keys_cpu_memory_alerts_name_and_again_reverses() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = await table_of(app, pilot)
        await pilot.press("P")
        await until(pilot, lambda: table._order[:2] == ["web-2", "worker-2"], what="by cpu")
        assert (table.sort_column, table.sort_reverse) == ("cpu", True)
        await pilot.press("P")  # again: lowest first
        await until(pilot, lambda: table._order[0] == "batch-1", what="cpu reversed")
        await pilot.press("M")
        await until(pilot, lambda: table._order[:2] == ["worker-3", "cache-1"], what="by mem")
        await pilot.press("A")  # worker-3 has two firing alerts
        await until(pilot, lambda: table.sort_column == "alerts"
                    and table._order[0] == "worker-3", what="by alerts")
        await pilot.press("N")
        await until(pilot, lambda: table._order[:2] == ["api-1", "api-2"], what="by name")
        assert not table.sort_reverse
        assert app.selected_host == "web-2"  # the selection follows the host, not the row
        assert table.selected_host == "web-2"


async def test_compact_shows_more_hosts_at_80x24_and_toggles_back() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = await table_of(app, pilot)
        await pilot.pause()
        full = len(table.visible_hosts())
        assert [c.key for c in table.columns][:5] == ["dot", "mark", "host", "cpu", "spark"]
        await pilot.press("c")
        await until(pilot, lambda: table.compact and app.screen.has_class("-compact"),
                    what="compact")
        await until(pilot, lambda: len(table.visible_hosts()) == 14, what="all 14 on screen")
        assert full < 14
        assert not app.screen.query_one(HostGauges).display  # at 80x24; wide keeps them
        assert "rx" not in [c.key for c in table.columns]
        assert str(table.get_cell("web-2", "cpu")) == "97%"
        await pilot.press("c")
        await until(pilot, lambda: not table.compact and len(table.visible_hosts()) == full,
                    what="full again")
        assert app.screen.query_one(HostGauges).display


async def test_a_marked_host_stays_followed_when_it_scrolls_off_screen() -> None:
    """`v` compares the marked hosts' metrics, so a big fleet's console keeps receiving
    them (tui/model.HostView.unfollow drops what a host outside the view holds)."""
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = await table_of(app, pilot)
        await until(pilot, lambda: table.selected_host, what="a selected row")
        await pilot.press("home")
        await until(pilot, lambda: table.cursor_row == 0, what="the first row")
        first = table.selected_host
        await pilot.press("space", "end")
        await until(pilot, lambda: first not in table.visible_hosts(), what="scrolled off")
        assert first in app.marked_hosts and first != app.selected_host
        assert first in app.view_hosts()
        off = set(app.model.hosts) - set(table.visible_hosts()) - {first, app.selected_host}
        assert off and not off & app.view_hosts()  # the others off-screen: not followed


async def test_the_filter_takes_figures_and_labels_and_a_bad_one_keeps_the_last() -> None:
    snap = frozen_data.snapshot()
    for h in snap["hosts"]:
        h["labels"] = {"team": "db"} if h["host"].startswith("db") else {"team": "web"}
    app = app_(snapshot=snap)
    async with app.run_test(size=SIZE) as pilot:
        table = await table_of(app, pilot)
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.focused, Input), what="filter box")
        await type_text(pilot, "cpu>80")
        await until(pilot, lambda: sorted(table._order) == ["web-2", "worker-2"],
                    what="cpu over 80")
        box = app.screen.query_one("#filter", Input)
        error = app.screen.query_one("#filter-error", Static)
        await type_text(pilot, " hots:x")  # a typo: named, and the last filter stays
        await until(pilot, lambda: error.display, what="inline error")
        text = str(error.render())
        assert "unknown field 'hots' in 'hots:x'" in text and "cpu>80" in text
        assert sorted(table._order) == ["web-2", "worker-2"] and app.is_running
        box.value = "label:team=db"
        await until(pilot, lambda: sorted(table._order) == ["db-1", "db-2"] and not
                    error.display, what="by label")
        box.value = "label:team=web -host:web-* status:up mem>=50"
        await until(pilot, lambda: sorted(table._order) == [
            "api-1", "api-2", "cache-1", "worker-1", "worker-2", "worker-3"], what="combined")
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 14 and not error.display,
                    what="cleared")


async def test_sort_and_compact_persist_per_user(tmp_path: Path) -> None:
    path = tmp_path / "state" / "monitor" / "tui.json"

    def app_with_state() -> MonitorApp:
        app = MonitorApp(FrozenSource(), author="ana", refresh_s=0.05, state_file=path)
        app.selected_host = "web-2"
        return app

    app = app_with_state()
    async with app.run_test(size=SIZE) as pilot:
        table = await table_of(app, pilot)
        await pilot.press("M", "c")
        await until(pilot, lambda: path.exists() and json.loads(path.read_text())
                    == {"sort": "mem", "reverse": True, "compact": True}, what="saved")
    app = app_with_state()
    async with app.run_test(size=SIZE) as pilot:
        table = await table_of(app, pilot)
        assert (table.sort_column, table.sort_reverse, table.compact) == ("mem", True, True)
        await until(pilot, lambda: table._order[0] == "worker-3", what="sorted by mem")


async def test_a_broken_settings_file_is_one_warning_and_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tui.json"
    path.write_text('{"sort": "bogus"')
    app = MonitorApp(FrozenSource(), author="ana", refresh_s=0.05, state_file=path)
    async with app.run_test(size=SIZE) as pilot:
        table = await table_of(app, pilot)
        notes = await until(pilot, lambda: [n.message for n in app._notifications],
                            what="a warning")
        assert len(notes) == 1 and "ignored" in notes[0] and "not JSON" in notes[0]
        assert (table.sort_column, table.compact) == ("host", False)
        await pilot.press("P")  # and the next save replaces it with a good one
        await until(pilot, lambda: json.loads(path.read_text())["sort"] == "cpu", what="saved")


def test_the_trend_of_a_host_outside_the_view_comes_from_the_digest() -> None:
    from core import digest as fleet

    model = FleetModel()
    for cpu in (10.0, 20.0, 30.0):
        model.apply_digest("b", {"ts": 100.0, "hosts": ["far-1"], "status": "u",
                                 "figures": {"cpu": fleet.pack_column([cpu])}}, fresh_s=0.0)
    trend = model.hosts["far-1"].history["cpu.percent"]
    assert list(trend) == [10.0, 20.0, 30.0] and trend.maxlen == DIGEST_HISTORY
    model.apply_metrics("b", "far-1", 101.0, {"cpu.percent": 40.0})  # now followed
    trend = model.hosts["far-1"].history["cpu.percent"]
    assert list(trend) == [10.0, 20.0, 30.0, 40.0] and trend.maxlen == HISTORY
