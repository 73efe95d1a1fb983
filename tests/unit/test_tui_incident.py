"""Pilot tests of the incident view (enter on an alert) against FrozenSource, whose
``incident`` and ``history`` replies come from the broker's own handlers."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from textual import events
from textual.widgets import Input, Static, TextArea

from tests.snapshots.frozen_app import make_app, ops, until
from tui.screens.dialogs import AckDialog, SilenceDialog, SummaryDialog
from tui.screens.help import HelpScreen
from tui.screens.incident import IncidentScreen
from tui.sources.frozen_data import NOW
from tui.widgets.alert_table import AlertTable

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")  # the screen writes local times
    time.tzset()


def app_() -> Any:
    return make_app(refresh_s=0.05)


def plain(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def burst(app: Any, text: str) -> None:
    """Keys as they arrive over SSH: all queued at once, none waits for a repaint."""
    names = {"/": "slash", " ": "space", "\n": "enter"}
    for ch in text:
        app.post_message(events.Key(names.get(ch, ch), None if ch == "\n" else ch))


async def open_incident(pilot: Any, app: Any) -> IncidentScreen:
    await pilot.press("2")
    await until(pilot, lambda: app.current_mode == "alerts" and app.screen.selected_alert(),
                what="alerts screen")
    await pilot.press("enter")
    return await until(pilot, lambda: isinstance(app.screen, IncidentScreen)
                       and app.screen.complete and app.screen, what="incident complete")


async def test_enter_on_an_alert_opens_its_incident_in_one_request() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_incident(pilot, app)
        assert ops(app, "incident") == [{"alert_id": "a1c0ffee"}]
        [hist] = ops(app, "history")
        assert hist["host"] == "web-2" and hist["metric"] == "cpu.percent"
        assert hist["since"] == NOW - 184 - 1800 and hist["step"] == "1m"
        facts = plain(screen.query_one("#inc-facts", Static))
        assert "slack-ops delivered" in facts and "ops-webhook failed" in facts
        assert "97.0% (threshold > 95.0%)" in facts and "3m 4s ago" in facts
        logs = plain(screen.query_one("#inc-logs", Static))
        assert "GC overhead limit exceeded" in logs
        # the start is marked between the lines before it and after it
        assert logs.index("GC pause") < logs.index("alert started 22:10:16") \
            < logs.index("GC overhead")
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(screen.query_one("#inc-procs", Static).content)
        procs = console.export_text()
        assert "at the start 22:10:14" in procs and "now 22:13:17" in procs
        assert "java     42.6%" in procs and "java     71.0%" in procs
        chart = screen.query_one("#inc-chart")
        assert chart.marks == [(NOW - 184, "start")] and chart.series[0].points
        assert chart.thresholds == [(95.0, "critical")]


async def test_enter_on_the_dashboard_feed_opens_the_incident() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        feed = app.screen.query_one("#feed", AlertTable)
        await until(pilot, lambda: feed.selected_alert_id, what="feed rows")
        feed.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="incident")
        assert ops(app, "incident")[0]["alert_id"] == feed.selected_alert_id


async def test_a_burst_after_slash_filters_the_logs_and_runs_no_key() -> None:
    """`/health check` holds h (host), e (events), a (ack), c (copy): all typed, none run."""
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_incident(pilot, app)
        burst(app, "/health check")
        box = screen.query_one("#inc-filter", Input)
        await until(pilot, lambda: box.value == "health check", what="typed into the filter")
        assert app.screen is screen and app.current_mode == "alerts"
        logs = plain(screen.query_one("#inc-logs", Static))
        assert "answered 503" in logs and "GC" not in logs
        assert "1/9 matching" in str(screen.query_one("#inc-logbox").border_title)
        await pilot.press("escape")  # clears the filter, stays
        await until(pilot, lambda: box.value == "", what="cleared")
        assert app.screen is screen
        await pilot.press("escape")  # back to the alerts
        await until(pilot, lambda: not isinstance(app.screen, IncidentScreen), what="back")
        assert app.current_mode == "alerts"


async def test_ack_from_the_incident_shows_who_acked() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_incident(pilot, app)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AckDialog), what="ack dialog")
        await pilot.press("enter")
        await until(pilot, lambda: ops(app, "ack"), what="ack request")
        assert ops(app, "ack")[0]["alert_id"] == "a1c0ffee"
        await until(pilot, lambda: "by ana at" in plain(screen.query_one("#inc-facts", Static)),
                    what="acked by ana in the facts")


async def test_silence_is_prefilled_with_the_alerts_own_matchers() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await open_incident(pilot, app)
        await pilot.press("x")
        dialog = await until(pilot, lambda: isinstance(app.screen, SilenceDialog)
                             and app.screen, what="silence dialog")
        assert dialog.query_one("#matchers", Input).value == \
            "host=web-2 rule=high_cpu_usage metric=cpu.percent"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="back")


async def test_h_opens_the_host_and_e_the_event_log_at_the_start() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await open_incident(pilot, app)
        app.selected_host = "db-1"
        await pilot.press("h")
        await until(pilot, lambda: app.current_mode == "host", what="host screen")
        assert app.selected_host == "web-2"
        await pilot.press("2")  # the incident left the stack: the alerts list is back
        await until(pilot, lambda: app.current_mode == "alerts", what="alerts")
        assert not isinstance(app.screen, IncidentScreen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen)
                    and app.screen.complete, what="incident again")
        await pilot.press("e")
        await until(pilot, lambda: app.current_mode == "events" and app.screen.results,
                    what="event log results")
        query = "until:2023-11-14T22:10:17Z"
        assert ops(app, "search")[-1]["query"] == query
        assert app.screen.query_one("#query", Input).value == query
        assert all(e["ts"] < NOW - 183 for e in app.screen.results)
        assert any(e.get("alert_id") == "a1c0ffee" for e in app.screen.results)


async def test_c_copies_a_summary_and_shows_it() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await open_incident(pilot, app)
        await pilot.press("c")
        dialog = await until(pilot, lambda: isinstance(app.screen, SummaryDialog)
                             and app.screen, what="summary")
        text = dialog.query_one(TextArea).text
        assert text == app.clipboard
        assert text.startswith("CRITICAL high_cpu_usage on web-2: firing since "
                               "2023-11-14 22:10:16 UTC (3m 4s)")
        assert "slack-ops delivered" in text and "java (" in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IncidentScreen), what="back")


async def test_enter_on_another_alert_of_the_host_opens_that_one() -> None:
    app = make_app(select="worker-3", refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        app.open_incident("d4e2b100")
        screen = await until(pilot, lambda: isinstance(app.screen, IncidentScreen)
                             and app.screen.complete and app.screen, what="incident")
        facts = plain(screen.query_one("#inc-facts", Static))
        assert "s1 host=worker-3 rule=high_memory_usage by bo" in facts
        others = screen.query_one("#inc-others", AlertTable)
        await until(pilot, lambda: others._ids == ["e5a3c200"], what="the other alert")
        others.focus()
        await pilot.press("enter")
        await until(pilot, lambda: screen.alert_id == "e5a3c200" and screen.complete,
                    what="the other incident")
        assert ops(app, "incident")[-1] == {"alert_id": "e5a3c200"}


async def test_an_unknown_alert_is_said_in_place() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        app.open_incident("nope")
        screen = await until(pilot, lambda: isinstance(app.screen, IncidentScreen)
                             and app.screen.complete and app.screen, what="reply")
        assert screen.error == "incident: no alert 'nope': not active, and not in the event log"
        assert "no alert 'nope'" in screen.query_one("#inc-title").text.plain
        assert not app._notifications  # said here, not in a toast


async def test_incident_keys_are_in_help_and_the_palette() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_incident(pilot, app)
        commands = [c.title for c in app.get_system_commands(screen)]
        for title in ("Open host (h)", "Events at start (e)", "Copy summary (c)",
                      "All fields (i)", "Reload (r)"):
            assert title in commands, commands
        await pilot.press("question_mark")
        help_ = await until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen,
                            what="help")
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(help_.query_one(Static).content)
        text = console.export_text()
        assert "Incident: copy a one-paragraph summary" in text
        assert "Incident: the event log as it stood when the alert started" in text


async def test_a_key_right_after_enter_wins_over_the_late_row_selected() -> None:
    """The table's RowSelected is handled after the keys queued behind enter: `enter x` fast
    opened the silence dialog and then the incident over it (seen over SSH at load 18)."""
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: app.current_mode == "alerts" and app.screen.selected_alert(),
                    what="alerts screen")
        burst(app, "\nx")
        await until(pilot, lambda: isinstance(app.screen, SilenceDialog), what="dialog")
        for _ in range(10):
            await pilot.pause()
        assert [type(s).__name__ for s in app.screen_stack] == ["AlertsScreen", "SilenceDialog"]
        await pilot.press("escape")
        burst(app, "\n1")
        await until(pilot, lambda: app.current_mode == "dashboard", what="dashboard")
        for _ in range(10):
            await pilot.pause()
        assert not isinstance(app.screen, IncidentScreen)
