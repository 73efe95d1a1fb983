"""Pilot tests of rewind (t, [, ], Esc) against FrozenSource, whose `fleet_at` runs the
broker's own handler over the fixture store and its past incident (frozen_past.py)."""

from __future__ import annotations

from typing import Any

from textual.screen import ModalScreen
from textual.widgets import Label, OptionList

from tests.snapshots.frozen_app import make_app, ops, source, type_text, until
from tui.messages import AlertChanged, MetricsUpdate
from tui.screens.help import binding_rows
from tui.screens.time_picker import TimePicker
from tui.sources import frozen_data, frozen_past
from tui.widgets.rewind_banner import RewindBanner

SIZE = (80, 24)
NOW = frozen_data.NOW
INCIDENT = NOW - frozen_past.INCIDENT_AGO


def app_() -> Any:
    return make_app(refresh_s=0.05)


async def rewind_to(pilot: Any, text: str) -> None:
    app = pilot.app
    await pilot.press("t")
    await until(pilot, lambda: isinstance(app.screen, TimePicker), what="time picker")
    await type_text(pilot, text)
    await pilot.press("enter")


def banner(app: Any) -> str:
    found = app.screen.query(RewindBanner)
    return found.first().text.plain if found else ""


def toasts(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def test_t_rewinds_the_dashboard_to_the_incident_and_esc_returns_live() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "web-2" in app.model.hosts, what="live fleet")
        await rewind_to(pilot, "-2h14m")
        await until(pilot, lambda: app.rewind.shown == INCIDENT, what="rewound picture")
        assert ops(app, "fleet_at")[-1]["ts"] == INCIDENT
        assert app.model is not app.live_model and app.now() == INCIDENT
        hosts = app.model.hosts
        assert hosts["db-1"].metrics["cpu.percent"] > 95  # pinned then, 63 % now
        assert app.live_model.hosts["db-1"].metrics["cpu.percent"] == 63
        assert hosts["web-3"].status == "down" and hosts["queue-1"].status == "unknown"
        alerts = {a["id"]: a for a in app.model.active_alerts()}
        assert alerts["9a1d0b01"]["state"] == "firing" and not alerts["9a1d0b01"]["acked"]
        assert alerts["9a1d0b05"]["state"] == "pending"
        assert "a1c0ffee" not in alerts  # today's web-2 alert had not started
        assert "REWIND" in banner(app) and "2h 14m ago" in banner(app)
        await pilot.press("escape")
        await until(pilot, lambda: not app.rewind.active, what="live again")
        assert app.model is app.live_model and app.now() == NOW
        await until(pilot, lambda: not app.screen.query(RewindBanner), what="banner gone")


async def test_bad_text_gets_an_inline_error_and_the_picker_stays() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await rewind_to(pilot, "-2x")
        label = app.screen.query_one("#preview", Label)
        assert isinstance(app.screen, TimePicker) and label.has_class("-error")
        assert "unknown unit 'x'" in str(label.render())
        assert not ops(app, "fleet_at") and not app.rewind.active
        app.screen.query_one("#when").value = ""
        await type_text(pilot, "2023-11-15 01:00")  # after the frozen instant
        await pilot.press("enter")
        assert "in the future" in str(app.screen.query_one("#preview", Label).render())
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ModalScreen), what="closed")
        assert not app.rewind.active


async def test_a_preset_rewinds_an_hour() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TimePicker), what="time picker")
        app.screen.query_one(OptionList).focus()
        await pilot.press("down", "enter")  # the second preset: -1h
        await until(pilot, lambda: app.rewind.shown == NOW - 3600, what="an hour back")


async def test_brackets_step_a_minute_and_fast_steps_ask_only_the_newest() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await rewind_to(pilot, "-2h14m")
        await until(pilot, lambda: app.rewind.shown == INCIDENT, what="rewound")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: app.rewind.shown == INCIDENT - 60, what="a minute back")
        assert "step 1m" in banner(app)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: app.rewind.shown == INCIDENT, what="a minute on")
        asked = len(ops(app, "fleet_at"))
        for _ in range(5):  # five presses before any reply is handled
            app.rewind.step_by(-1)
        assert app.rewind.target == INCIDENT - 300
        await until(pilot, lambda: app.rewind.shown == INCIDENT - 300, what="newest step")
        # the first press was asked; the reply found the operator four steps on: one more
        assert [a["ts"] for a in ops(app, "fleet_at")[asked:]] == [INCIDENT - 60,
                                                                   INCIDENT - 300]


async def test_stepping_stops_at_the_oldest_moment_and_a_refusal_says_why() -> None:
    import time

    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        oldest = NOW - 30 * 86400  # the store's retention: its hour rollups go further
        start = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(oldest + 7200))
        await rewind_to(pilot, start)
        await until(pilot, lambda: app.rewind.shown == oldest + 7200, what="near the oldest")
        assert app.rewind.oldest == oldest and app.rewind.step == "1h"  # the reply says so
        for _ in range(3):
            await pilot.press("left_square_bracket")
        await until(pilot, lambda: app.rewind.shown == oldest, what="the oldest moment")
        assert [a["ts"] for a in ops(app, "fleet_at")][-1] == oldest  # never asked before it
        assert "the oldest moment the broker keeps" in toasts(app)
        app.rewind.oldest = None  # a broker that does not say: it refuses instead
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: "before the store's retention" in banner(app),
                    what="refusal")
        assert app.rewind.target == app.rewind.shown == oldest
        assert any("ts is 30d 1h ago, before the store's retention (30d)" in t
                   for t in toasts(app))


async def test_a_refused_first_moment_stays_live() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await rewind_to(pilot, "-31d")
        await until(pilot, lambda: toasts(app), what="toast")
        assert "before the store's retention" in toasts(app)[-1]
        assert not app.rewind.active and app.model is app.live_model


async def test_state_changes_are_refused_while_rewound() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await rewind_to(pilot, "-2h14m")
        await until(pilot, lambda: app.rewind.shown == INCIDENT, what="rewound")
        for key in ("a", "u", "x", "s", "F"):  # each says so (only the newest 2 toasts stay)
            seen = {n.identity for n in app._notifications}
            await pilot.press(key)
            assert not isinstance(app.screen, ModalScreen), f"{key} opened a dialog"
            await until(pilot, lambda seen=seen: [
                n for n in app._notifications
                if n.identity not in seen and "refused while rewound" in n.message],
                what=f"{key} refused")
        errors: list[str] = []
        app.call("ack", {"alert_id": "9a1d0b01", "author": "ana"},
                 on_error=lambda r: errors.append(r.error))  # the palette's way in
        await until(pilot, lambda: errors, what="refusal")
        assert errors[0].startswith("ack: refused while rewound")
        for op in ("ack", "unack", "silence", "simulate", "forget"):
            assert not ops(app, op), f"{op} reached the broker"


async def test_live_updates_are_held_and_shown_on_esc() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await rewind_to(pilot, "-2h14m")
        await until(pilot, lambda: app.rewind.shown == INCIDENT, what="rewound")
        web1 = app.model.hosts["web-1"].metrics["cpu.percent"]
        app.post_message(MetricsUpdate("frozen", {"web-1": (NOW, {"cpu.percent": 3.5})}))
        new = frozen_data.alert("0ddba11", "disk_almost_full", "web-4", "critical",
                                "disk./.percent", 97.0, 95.0, NOW)
        app.post_message(AlertChanged("frozen", new))
        await until(pilot, lambda: "0ddba11" in app.live_model.alerts, what="live alert")
        assert app.model.hosts["web-1"].metrics["cpu.percent"] == web1  # the past, unmoved
        assert "0ddba11" not in app.model.alerts
        await until(pilot, lambda: "3 unacked critical" in app.title,  # live criticals
                    what="the title counts the new live critical")
        await pilot.press("escape")
        await until(pilot, lambda: not app.rewind.active, what="live")
        assert app.model.hosts["web-1"].metrics["cpu.percent"] == 3.5
        feed = app.screen.query_one("#feed")
        await until(pilot, lambda: "0ddba11" in feed._ids, what="alert in the feed")


async def test_banner_follows_to_alerts_and_host_screens() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await rewind_to(pilot, "-2h14m")
        await until(pilot, lambda: app.rewind.shown == INCIDENT, what="rewound")
        await pilot.press("2")
        await until(pilot, lambda: app.current_mode == "alerts" and banner(app), what="alerts")
        ids = {a["id"] for a in app.model.sorted_alerts()}
        assert {"9a1d0b01", "9a1d0b02", "9a1d0b03", "9a1d0b04", "9a1d0b05"} <= ids
        await pilot.press("3")
        await until(pilot, lambda: app.current_mode == "events" and banner(app), what="events")
        await until(pilot, lambda: app.screen.query_one("#events").border_title
                    == "events up to the moment shown", what="not called the live tail")
        await pilot.press("4")
        await until(pilot, lambda: app.current_mode == "host" and banner(app), what="host")
        await until(pilot, lambda: ops(app, "history"), what="history")
        assert ops(app, "history")[-1]["until"] == INCIDENT  # the hour before the moment
        logs = [a for a in ops(app, "search") if "kind:log" in a["query"]]
        assert logs[-1]["before_ts"] == INCIDENT + 0.001  # the host's log lines up to it
        await pilot.press("escape")
        await until(pilot, lambda: not banner(app), what="banner gone on the host screen")
        assert app.current_mode == "host"  # Esc went live first, not back to the dashboard


async def test_keys_are_in_help_and_the_palette() -> None:
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        keys = dict(binding_rows(list(app.BINDINGS), None))
        assert {"t", "[", "]"} <= keys.keys()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any(t.startswith("Rewind (t)") for t in titles)
        assert any(t.startswith("Step back ([)") for t in titles)
        await pilot.pause()


async def test_a_request_never_answered_does_not_leave_rewind_loading(
        monkeypatch: Any) -> None:
    """A request queued on a link that went down may get no reply at all."""
    import tui.rewind

    monkeypatch.setattr(tui.rewind, "ASK_TIMEOUT_S", 0.3)
    app = app_()
    async with app.run_test(size=SIZE) as pilot:
        await rewind_to(pilot, "-2h14m")
        await until(pilot, lambda: app.rewind.shown == INCIDENT, what="rewound")
        src = source(app)
        answer = src.request
        src.request = lambda op, args, *a, **k: (  # type: ignore[method-assign]
            "lost" if op == "fleet_at" else answer(op, args, *a, **k))
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: "no reply from the broker" in banner(app), what="gave up")
        assert app.rewind.target == app.rewind.shown == INCIDENT
        src.request = answer  # type: ignore[method-assign]
        await pilot.press("left_square_bracket")  # and the next step is asked again
        await until(pilot, lambda: app.rewind.shown == INCIDENT - 60, what="stepped")
