"""Pilot tests: every key of the console against FrozenSource, which records requests."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from tests.snapshots.frozen_app import make_app, ops, source, type_text, until
from tui.screens.dialogs import AckDialog, DetailDialog, SilenceDialog, SimulateDialog
from tui.screens.help import HelpScreen, binding_rows
from tui.sources import frozen_data, frozen_past
from tui.widgets.alert_table import AlertTable
from tui.widgets.host_table import HostTable

SIZE = (80, 24)


def app_() -> object:
    return make_app(refresh_s=0.05)


async def test_number_keys_switch_screens() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        for key, mode in [("2", "alerts"), ("3", "events"), ("4", "host"), ("1", "dashboard")]:
            await pilot.press(key)
            await until(pilot, lambda mode=mode: app.current_mode == mode, what=mode)


async def test_ack_sends_request_and_updates_alert_and_title() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "2 unacked critical" in app.title, what="title")
        await pilot.press("2")
        await until(pilot, lambda: app.screen.selected_alert() is not None, what="selection")
        assert app.screen.selected_alert()["id"] == "a1c0ffee"
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AckDialog), what="ack dialog")
        await type_text(pilot, "on it")
        await pilot.press("enter")
        await until(pilot, lambda: ops(app, "ack"), what="ack request")
        assert ops(app, "ack") == [{"alert_id": "a1c0ffee", "author": "ana", "comment": "on it",
                                    "sticky": False}]
        await until(pilot, lambda: app.model.alerts["a1c0ffee"]["acked"], what="acked alert")
        await until(pilot, lambda: "1 unacked critical" in app.title, what="title update")
        table = app.screen.query_one(AlertTable)
        await until(pilot, lambda: "ack" in str(table.get_cell("a1c0ffee", "flags")),
                    what="ack flag in the table")


async def test_escape_cancels_ack_dialog() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "a")
        await until(pilot, lambda: isinstance(app.screen, AckDialog), what="ack dialog")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AckDialog), what="dialog closed")
        assert ops(app, "ack") == []


async def test_ack_on_dashboard_uses_the_selected_hosts_alert() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.hosts, what="hosts")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AckDialog), what="ack dialog")
        assert app.screen.alert["host"] == "web-2"
        await pilot.press("enter")
        await until(pilot, lambda: ops(app, "ack"), what="ack request")


async def test_unack() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: app.screen.selected_alert() is not None, what="selection")
        await pilot.press("down", "down")  # web-2, batch-1, db-1 (acked)
        assert app.screen.selected_alert()["id"] == "b2d15c00"
        await pilot.press("u")
        await until(pilot, lambda: ops(app, "unack"), what="unack request")
        assert ops(app, "unack") == [{"alert_id": "b2d15c00", "author": "ana"}]  # not anonymous
        await until(pilot, lambda: not app.model.alerts["b2d15c00"]["acked"], what="unacked")


async def test_silence_prefills_matchers_from_selection() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: app.screen.selected_alert() is not None, what="selection")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, SilenceDialog), what="silence dialog")
        box = app.screen.query_one("#matchers", Input)
        assert box.value == "host=web-2 rule=high_cpu_usage"
        box.focus()
        await pilot.press("enter")
        await until(pilot, lambda: ops(app, "silence"), what="silence request")
        assert ops(app, "silence") == [{"matchers": ["host=web-2", "rule=high_cpu_usage"],
                                        "duration": "2h", "comment": "", "author": "ana"}]
        await until(pilot, lambda: app.model.alerts["a1c0ffee"]["silenced"], what="silenced")


async def test_simulate_picks_scenario_then_host_and_alert_reaches_the_feed() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.scenarios, what="rules loaded")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SimulateDialog), what="dialog")
        await pilot.press("down", "enter")  # second scenario, then focus moves to the host
        await until(pilot, lambda: isinstance(app.focused, Input), what="host input")
        assert app.focused.value == "web-2"
        await pilot.press("enter")
        await until(pilot, lambda: ops(app, "simulate"), what="simulate request")
        assert ops(app, "simulate") == [{"name": "high_memory_usage", "host": "web-2"}]
        feed = app.screen.query_one("#feed", AlertTable)
        await until(pilot, lambda: any(i and i.startswith("sim") for i in feed._ids),
                    what="simulated alert in the feed")
        # A new critical: a toast, and the title counts it.
        await until(pilot, lambda: "3 unacked critical" in app.title, what="title")
        await until(pilot, lambda: any(n.message.startswith("CRITICAL · ")
                                       for n in app._notifications),
                    what="a toast")


async def test_slash_filters_the_host_table_and_escape_clears() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count == 14, what="all hosts")
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.focused, Input), what="filter box")
        await type_text(pilot, "web")
        await until(pilot, lambda: table.row_count == 4, what="filtered rows")
        assert all(name.startswith("web") for name in table._order)
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 14, what="filter cleared")
        assert app.focused is table


async def test_search_on_the_event_log_returns_matching_events() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash")
        await until(pilot, lambda: isinstance(app.focused, Input), what="search box")
        await type_text(pilot, "host:db-1")
        await pilot.press("enter")
        await until(pilot, lambda: ops(app, "search"), what="search request")
        assert ops(app, "search")[-1] == {"query": "host:db-1", "limit": 100}
        table = app.screen.query_one("#events", DataTable)
        await until(pilot, lambda: app.screen.results, what="results")
        # db-1's events now and in its past incident (tui/sources/frozen_past.py)
        want = [e for e in [*source(app).snapshot["events"],
                            *frozen_past.events(frozen_data.NOW)] if e["host"] == "db-1"]
        assert table.row_count == len(app.screen.results) == len(want) == 8
        assert {e["host"] for e in app.screen.results} == {"db-1"}
        await pilot.press("escape")  # back to the live tail
        await until(pilot, lambda: app.screen.live, what="live tail")


async def test_chips_filter_events_by_severity() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        table = await until(pilot, lambda: app.screen.query("#events").first(DataTable)
                            if app.current_mode == "events" else None, what="events")
        await until(pilot, lambda: table.row_count > 0, what="events")
        await pilot.click("#sev-info")
        await until(pilot, lambda: all(e["severity"] != "info" for e in app.screen._rows)
                    and table.row_count == len(app.screen._rows), what="info hidden")


async def test_enter_opens_host_detail_and_escape_goes_back() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.query_one(HostTable).row_count, what="rows")
        await pilot.press("enter")
        await until(pilot, lambda: app.current_mode == "host", what="host screen")
        await until(pilot, lambda: ops(app, "history"), what="history request")
        assert ops(app, "history")[0]["host"] == "web-2"
        await pilot.press("escape")
        await until(pilot, lambda: app.current_mode == "dashboard", what="dashboard")


async def test_enter_on_an_event_opens_its_details() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: app.current_mode == "events" and app.screen._rows, what="rows")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailDialog), what="detail")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DetailDialog), what="closed")


async def test_alert_detail_shows_timeline_from_search() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: ops(app, "search"), what="timeline search")
        assert ops(app, "search")[0]["query"] == "alert:a1c0ffee"
        detail = app.screen.query_one("#detail")
        await until(pilot, lambda: "slack #ops" in str(detail.render()), what="timeline")


async def test_tab_moves_focus_to_the_alert_feed() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is app.screen.query_one(HostTable)
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#feed")


async def test_pause_freezes_the_table_until_resumed() -> None:
    from tui.messages import MetricsUpdate

    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: table.row_count, what="rows")
        await pilot.press("p")
        assert app.paused and "paused" in app.sub_title
        app.post_message(MetricsUpdate("frozen", {"web-2": (1_700_000_001.0,
                                                            {"cpu.percent": 12.0})}))
        await until(pilot, lambda: app.model.hosts["web-2"].metrics["cpu.percent"] == 12.0,
                    what="model updated")
        await pilot.pause()
        assert str(table.get_cell("web-2", "cpu")) == "97%"
        await pilot.press("p")
        await until(pilot, lambda: str(table.get_cell("web-2", "cpu")) == "12%", what="resume")


async def test_question_mark_shows_every_key() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        keys = [key for key, _ in binding_rows(list(app.BINDINGS), app.screen_stack[-2])]
        for key in ["a", "u", "s", "x", "/", "enter", "escape", "1", "4", "tab", "p", "?", "q",
                    "o", "ctrl+p"]:
            assert key in keys
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="closed")


async def test_q_quits() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, what="exit")
    assert app.return_code == 0


async def test_a_reply_that_lands_while_quitting_is_dropped() -> None:
    """`q` on the host screen while its log lines were still asked for: the reply came as
    the screens were torn down, its callback found no '#logs', and the console printed a
    traceback on its way out (found at 10,000 hosts, tests/soak/walk.py's walk)."""
    from tui.messages import Reply

    app = app_()
    calls: list[object] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: app.current_mode == "host", what="host screen")
        app._callbacks["before"] = (calls.append, None)  # a request still unanswered
        app._callbacks["after"] = (calls.append, None)
        app.on_reply(Reply(req_id="before", op="search", ok=True, result=[]))
        assert len(calls) == 1  # answered while running: called
        app.exit()
        app.on_reply(Reply(req_id="after", op="search", ok=True, result=[]))
        assert len(calls) == 1  # answered while quitting: dropped
    assert app.return_code == 0


async def test_every_key_is_in_the_command_palette() -> None:
    app = app_()
    async with app.run_test(size=SIZE):
        titles = " ".join(c.title for c in app.get_system_commands(app.screen))
    for word in ["Ack", "Unack", "Silence", "Simulate", "Search", "Pause", "Help", "Dashboard",
                 "Alerts", "Events", "Host", "Open", "Back", "Next pane"]:
        assert word in titles


@pytest.mark.parametrize("key", ["a", "u"])
async def test_ack_keys_without_an_alert_say_so(key: str) -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.hosts, what="hosts")
        app.selected_host = "web-1"  # no alert on web-1
        await pilot.press(key)
        await until(pilot, lambda: app._notifications, what="a notice")
        assert not source(app).requests or all(op == "rules" for op, _ in source(app).requests)


async def test_app_keys_wait_while_a_dialog_is_open() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.scenarios, what="rules")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SimulateDialog), what="dialog")
        await pilot.press("a", "2", "x", "p")  # the scenario list has the focus
        assert isinstance(app.screen, SimulateDialog) and app.current_mode == "dashboard"
        assert not app.paused
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SimulateDialog), what="closed")


async def test_a_command_from_the_palette_runs_its_action() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.hosts, what="hosts")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.focused, Input), what="palette")
        await type_text(pilot, "Alerts (2)")

        def best_hit() -> bool:  # the palette searches in a worker
            hits = app.screen.query("CommandList")
            return bool(hits) and hits.first().option_count > 0 \
                and hits.first().highlighted is not None
        await until(pilot, best_hit, what="palette hits")
        await pilot.press("enter")
        await until(pilot, lambda: app.current_mode == "alerts", what="alerts screen")
