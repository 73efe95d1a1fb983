"""Screen switches (1-4) and help (?): fast, and never showing stale styles or stale data.

The screens are kept between switches and resume without a restyle when nothing their styles
depend on changed (tui/screens/base.py); the paint is held only until the new screen has
refreshed (tui/quick_switch.py). These tests change what a hidden screen depends on and
check what it shows once it is back.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from tests.snapshots.frozen_app import make_app, until
from tui.messages import AlertChanged, ConnectionState
from tui.screens.help import HelpScreen
from tui.sources import frozen_data
from tui.widgets.alert_table import AlertTable

SIZE = (80, 24)


def app_() -> Any:
    return make_app(refresh_s=0.05)


async def switch(pilot: Any, key: str, mode: str) -> None:
    await pilot.press(key)
    await until(pilot, lambda: pilot.app.current_mode == mode and pilot.app.screen.is_mounted,
                what=mode)
    await pilot.pause()


def opacity(app: Any) -> float:
    return float(app.screen.query_one(DataTable).styles.text_opacity)


async def test_lost_broker_dims_a_screen_that_was_hidden_when_it_happened() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await switch(pilot, "2", "alerts")
        await switch(pilot, "1", "dashboard")
        assert opacity(app) == 1.0
        await switch(pilot, "2", "alerts")
        app.post_message(ConnectionState("frozen", "reconnecting", "lost frozen"))
        await until(pilot, lambda: app.has_class("-stale"), what="stale")
        await until(pilot, lambda: opacity(app) == 0.5, what="alerts dimmed")
        await switch(pilot, "1", "dashboard")
        assert opacity(app) == 0.5, "the dashboard, hidden when the broker went, is not dimmed"
        app.post_message(ConnectionState("frozen", "connected", "back"))
        await until(pilot, lambda: not app.has_class("-stale"), what="connected")
        await until(pilot, lambda: opacity(app) == 1.0, what="dashboard bright")
        await switch(pilot, "2", "alerts")
        assert opacity(app) == 1.0, "the alerts screen stays dimmed after the broker came back"


async def test_theme_change_reaches_hidden_screens() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await switch(pilot, "2", "alerts")
        before = app.screen.query_one(DataTable).styles.background
        await switch(pilot, "1", "dashboard")
        app.theme = "textual-light"
        await pilot.pause()
        await switch(pilot, "2", "alerts")
        after = app.screen.query_one(DataTable).styles.background
        assert after != before, f"alerts screen kept the old theme's background {after}"


async def test_resize_while_hidden_sets_the_screens_layout() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await switch(pilot, "2", "alerts")
        assert app.screen.has_class("-narrow")
        await switch(pilot, "1", "dashboard")
        await pilot.resize_terminal(160, 50)
        await until(pilot, lambda: app.screen.has_class("-wide"), what="dashboard wide")
        await switch(pilot, "2", "alerts")
        await until(pilot, lambda: app.screen.has_class("-wide"), what="alerts wide")
        assert app.screen.query_one(AlertTable).region.width == 86  # the -wide layout


async def test_switch_shows_what_changed_while_the_screen_was_hidden() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await switch(pilot, "2", "alerts")
        await switch(pilot, "1", "dashboard")
        alert = frozen_data.alert("fresh01", "disk_full", "web-2", "critical",
                                  "disk./.percent", 99.0, 95.0, app.now())
        app.post_message(AlertChanged("frozen", alert))
        await until(pilot, lambda: "fresh01" in app.model.alerts, what="alert applied")
        painted: list[str] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None and not painted and not app._batch_count \
                    and app.current_mode == "alerts":  # the first paint after the switch
                painted.append(type(screen).__name__)
                painted.append(str("fresh01" in screen.query_one(AlertTable)._ids))
            original(screen, renderable)

        app._display = display
        await switch(pilot, "2", "alerts")
        await until(pilot, lambda: painted, what="a paint")
        assert painted == ["AlertsScreen", "True"], painted


async def test_help_opens_and_closes_on_every_screen_with_that_screens_keys() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        for key, mode in [("1", "dashboard"), ("2", "alerts"), ("1", "dashboard")]:
            await switch(pilot, key, mode)
            for _ in range(2):  # twice: a help kept between showings is still right
                await pilot.press("question_mark")
                await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
                text = app.screen.help_text().plain
                assert ("Sort the hosts" in text) == (mode == "dashboard"), text
                assert "Acknowledge the selected alert" in text
                await pilot.press("escape")
                await until(pilot, lambda: not isinstance(app.screen, HelpScreen),
                            what="help closed")


async def test_the_rich_console_knows_the_terminal_size_without_asking_the_os() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert tuple(app.console.size) == SIZE
        await pilot.resize_terminal(160, 50)
        await until(pilot, lambda: tuple(app.console.size) == (160, 50), what="console size")


async def test_a_burst_of_switches_paints_only_the_last_screen() -> None:
    from textual import events

    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        for key, mode in [("2", "alerts"), ("3", "events"), ("4", "host"), ("1", "dashboard")]:
            await switch(pilot, key, mode)  # every screen built once
        painted: list[str] = []
        original = app._display
        before = app._switches

        def display(screen: Any, renderable: Any) -> None:  # paints once the burst switched
            if renderable is not None and not app._batch_count and app._switches > before:
                painted.append(type(screen).__name__)
            original(screen, renderable)

        app._display = display
        passed_over = app.get_screen_stack("events")[0]
        refreshed: list[int] = []
        passed_over.refresh_data = lambda *a, **k: refreshed.append(1)  # type: ignore[method-assign]
        for key in "1234":  # as they arrive over SSH: at once
            app.post_message(events.Key(key, key))
        await until(pilot, lambda: "HostScreen" in painted, what="the host screen painted")
        assert set(painted) == {"HostScreen"}, painted
        assert refreshed == [], "the events screen, passed over, refreshed its data"
        assert not app._batch_count and not app._holding
