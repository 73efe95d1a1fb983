"""A seeded random walk of an operator's keys through the console, timing each repaint.

Keys are posted to the app as a terminal delivers them (no waiting between the keys of a
burst). For each step with a visible effect the walk measures key -> the first repaint at
which the effect holds: the compositor update rendered to ANSI, as a terminal would get it.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual import events
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input

from tui.app import MonitorApp
from tui.screens.dialogs import Dialog
from tui.screens.help import HelpScreen

NAMES = {"/": "slash", ":": "colon", " ": "space", "-": "minus", "*": "asterisk",
         ">": "greater_than_sign", "=": "equals_sign", "\n": "enter", "?": "question_mark",
         "[": "left_square_bracket", "]": "right_square_bracket"}
SIZES = ((80, 24), (200, 60))
EFFECT_TIMEOUT_S = 5.0
PROFILE = bool(os.environ.get("SOAK_PROFILE"))


class Painter:
    """Watches every repaint of ``app`` (installed before it runs) for an expected effect.

    A key is reflected by the first repaint at which its effect holds, checked as that
    repaint is sent. (Polling for the effect and then waiting for the next repaint, as this
    did before, missed the repaint that showed it whenever the poll woke late on a loaded
    box, and then counted the next one, up to a refresh tick later, or none at all.)
    """

    def __init__(self, app: MonitorApp, size: tuple[int, int]) -> None:
        self.paints = 0
        self.shown: float | None = None  # when the expected effect was first painted
        self.shown_cpu = 0.0  # the event loop thread's CPU time then (time.thread_time)
        self.seen: float | None = None  # when the walk saw the effect (a poll)
        self._effect: Callable[[], bool] | None = None
        self.sent = 0  # characters of ANSI sent, as a terminal would get them
        out = io.StringIO()
        sink = Console(file=out, force_terminal=True, color_system="truecolor",
                       width=SIZES[1][0], height=SIZES[1][1])
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None and hasattr(renderable, "render_segments") \
                    and not app._batch_count:  # else Textual drops it: no paint
                renderable.render_segments(sink)  # the ANSI a terminal would be sent
                self.sent += out.tell()
                out.seek(0)  # and gone, as from a terminal (kept, the soak's memory
                out.truncate()  # grew by every frame it drew)
                self.paints += 1
                now = time.perf_counter()
                if self._effect is not None and self.shown is None and (
                        self._holds() or (self.seen is not None and now >= self.seen)):
                    self.shown, self.shown_cpu = now, time.thread_time()
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]

    def expect(self, effect: Callable[[], bool] | None) -> None:
        self._effect, self.shown, self.seen = effect, None, None

    def seen_now(self) -> None:
        """The walk saw the effect: a repaint from now on shows it, even if the effect was
        undone meanwhile (a re-sort moving the cursor back) before the repaint was sent."""
        self.seen = time.perf_counter()

    def _holds(self) -> bool:
        try:
            return bool(self._effect and self._effect())
        except Exception:  # a screen half torn down: not shown yet
            return False

    async def shown_by(self, deadline: float) -> float | None:
        """The time of the first repaint showing the effect (None if none by ``deadline``)."""
        while self.shown is None and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)  # poll
        shown, self._effect = self.shown, None
        return shown


class Walk:
    def __init__(self, app: MonitorApp, pilot: Any, painter: Painter, seed: int,
                 effect_timeout: float = EFFECT_TIMEOUT_S) -> None:
        self.app, self.pilot, self.painter = app, pilot, painter
        self.effect_timeout = effect_timeout  # a key with no effect by then is dead
        self.rnd = random.Random(seed)
        self.latencies: list[float] = []
        self.timed: list[tuple[float, str, str, str]] = []  # latency, keys, screens, size+cpu
        self.sampler: Any = None  # tests/soak/sampler.py (SOAK_SAMPLE=1): where slow keys went
        self.gc_times: Any = None  # tests/soak/sampler.GcTimes (SOAK_GC=1)
        self.cprofiles: list[Any] = []  # SOAK_PROFILE=1: cProfile of the slowest keys
        self.profiles: dict[int, tuple[int, Any, Any]] = {}  # index in timed -> samples, counts
        self.steps: dict[str, int] = {}
        self.size = SIZES[0]

    def keys(self, text: str | list[str]) -> None:
        """``text``: characters typed; a list: key names (``["home"]``) one by one."""
        for k in (list(text) if isinstance(text, str) else text):
            key = NAMES.get(k, k)
            char = None if key in ("enter", "escape", "up", "down", "pagedown", "pageup",
                                   "home", "end", "tab") else (k if len(k) == 1 else None)
            self.app.post_message(events.Key(key, char))

    async def effect(self, keys: str | list[str], done: Callable[[], bool]) -> None:
        """Press ``keys`` and time them until ``done()`` holds and a repaint shows it."""
        t0, cpu0 = time.perf_counter(), time.thread_time()
        modal = isinstance(self.app.screen, ModalScreen)
        before = type(self.app.screen).__name__
        self.painter.expect(done)
        if self.sampler is not None:
            self.sampler.start()
        prof = None
        if PROFILE:
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
        self.keys(keys)
        deadline = t0 + self.effect_timeout
        while not done():
            if not modal and isinstance(self.app.screen, ModalScreen):
                self.painter.expect(None)
                if self.sampler is not None:
                    self.sampler.stop()
                await self.settle()  # a dialog from an earlier key opened first: not timed
                return
            if time.perf_counter() > deadline:
                raise AssertionError(f"keys {keys!r} had no effect in {self.effect_timeout:g} s "
                                     f"(screen {self.app.screen!r})")
            await asyncio.sleep(0.002)  # poll
        self.painter.seen_now()
        paint = await self.painter.shown_by(deadline + 1.0)
        if prof is not None:
            prof.disable()
            if paint is not None:
                import pstats
                self.cprofiles.append((paint - t0, repr(keys), type(self.app.screen).__name__,
                                       pstats.Stats(prof)))
                self.cprofiles.sort(key=lambda p: -p[0])
                del self.cprofiles[12:]
        assert paint is not None, f"no repaint showed the effect of {keys!r}"
        if self.sampler is not None:
            self.profiles[len(self.timed)] = self.sampler.stop()
        self.latencies.append(paint - t0)
        gc_ms = "" if self.gc_times is None else ", gc {:.0f}/{:.0f} ms".format(
            *(x * 1000 for x in self.gc_times.between(t0, paint)))
        self.timed.append((paint - t0, repr(keys), f"{before} -> {type(self.app.screen).__name__}",
                           "{}x{}, cpu {:.0f} ms{}".format(
                               *self.size, (self.painter.shown_cpu - cpu0) * 1000, gc_ms)))

    def free(self) -> bool:
        """No dialog, no search box focused, no keys held for one: keys are commands."""
        app = self.app
        return not isinstance(app.screen, ModalScreen) and app._typed is None \
            and not isinstance(app.focused, Input)

    async def settle(self) -> None:
        """Back to a main screen with no dialog and no search box."""
        for _ in range(5):
            if not isinstance(self.app.screen, ModalScreen) and self.app._typed is None \
                    and not isinstance(self.app.focused, Input):
                break
            self.keys(["escape"])
            await self.pilot.pause()

    async def step(self) -> None:
        app, r = self.app, self.rnd
        if r.random() < 0.8:
            await self.settle()  # else the keys below go to a box or a dialog: also fine
        kind = r.choices(["switch", "move", "burst", "search", "dialog", "help", "pause",
                          "resize", "tab", "sort", "chart", "incident", "rewind"],
                         weights=[20, 26, 8, 8, 8, 4, 3, 4, 6, 4, 5, 8, 4])[0]
        self.steps[kind] = self.steps.get(kind, 0) + 1
        if kind in ("switch", "move", "dialog", "help", "pause", "incident", "rewind") \
                and not self.free():
            self.keys([r.choice(["1", "2", "a", "?", "down", "p"])])  # into a box or a dialog
            await self.pilot.pause()
            return
        if kind == "switch":
            mode = r.choice(["dashboard", "alerts", "events", "host"])
            key = str(["dashboard", "alerts", "events", "host"].index(mode) + 1)
            if app.current_mode == mode:
                self.keys(key)
            else:
                await self.effect(key, lambda: app.current_mode == mode and app.screen.is_mounted)
        elif kind == "move":
            table = app.focused
            key = r.choice(["down", "down", "up", "pagedown", "end", "home"])
            if isinstance(table, DataTable) and table.row_count > 2:
                before = table.cursor_row
                target = {"home": 0, "end": table.row_count - 1}.get(key)
                if target is None or target != before:
                    rows = table.row_count  # `end` in search results fetches the next page
                    moved = (lambda: table.cursor_row != before) if target is None else (
                        lambda: table.cursor_row == 0 if key == "home" else
                        table.cursor_row >= min(rows, table.row_count) - 1)
                    if (key in ("down", "pagedown") and before < table.row_count - 1) or \
                            (key == "up" and before > 0) or target is not None:
                        await self.effect([key], moved)
                        return
            self.keys([key])
        elif kind == "burst":  # keys arriving at once, as over SSH
            keys = r.choice(["jjjkkk", "1234", "2222", "44433", "dddduuu", "4321", "3412"])
            mode = {"4": "host", "3": "events", "2": "alerts", "1": "dashboard"}.get(keys[-1])
            # (already on that screen, nothing changes: a rewound picture is never repainted)
            if mode and self.free() and app.current_mode != mode:  # timed to the last key
                # (a screen may resume with its search box focused: the rest is typed there)
                await self.effect(keys, lambda: (app.current_mode == mode and app.screen.is_mounted)
                                  or isinstance(app.focused, Input))
            else:
                self.keys(keys)
                await self.pilot.pause()
        elif kind == "search":
            text = r.choice(["kind:alert", "severity:>=warning", "hots:vm", "host:web-*",
                             "cpu", "kind:host.down", "queue", "since:5m kind:ack"])
            self.keys("/" + text + ("\n" if r.random() < 0.7 else ""))
            await self.pilot.pause()
            if r.random() < 0.5:
                await self.settle()
        elif kind == "dialog":
            key = r.choice(["x", "s", "a"])
            had = len(app.screen_stack)
            self.keys(key)
            try:  # (`a` with no alert selected says so in a toast instead)
                await self._wait(lambda: isinstance(app.screen, Dialog), 1.5)
            except AssertionError:
                return
            if isinstance(app.screen, Dialog):
                if key == "s" and r.random() < 0.3:
                    self.keys(["enter", "enter"])  # simulate on the selected host
                    try:  # a scenario the dialog refuses keeps it open: fine, escape
                        await self._wait(lambda: not isinstance(app.screen, Dialog), 3.0)
                    except AssertionError:
                        await self.settle()
                else:
                    await self.effect(["escape"], lambda: not isinstance(app.screen, Dialog)
                                      and len(app.screen_stack) <= had)
        elif kind == "help":
            await self.effect("?", lambda: isinstance(app.screen, HelpScreen))
            await self.effect(["escape"], lambda: not isinstance(app.screen, HelpScreen))
        elif kind == "pause":
            was = app.paused
            await self.effect("p", lambda: app.paused != was)
            await self.effect("p", lambda: app.paused == was)
        elif kind == "resize":
            self.size = SIZES[1] if self.size == SIZES[0] else SIZES[0]
            await self.pilot.resize_terminal(*self.size)
            await self.pilot.pause()
        elif kind == "tab":
            before = app.focused
            if self.free() and before is not None and len(app.screen.focus_chain) > 1:
                await self.effect(["tab"], lambda: app.focused is not before)
            else:
                self.keys(["tab"])
        elif kind == "incident":
            await self.incident()
        elif kind == "rewind":
            await self.rewind()
        elif kind == "chart" and app.current_mode == "host" and self.free():
            from tui.widgets.metric_chart import MetricChart

            chart = app.screen.query_one(MetricChart)  # the trend chart's range keys
            key = r.choice(["less_than_sign", "greater_than_sign"])
            want = min(max(chart.range + (1 if key == "greater_than_sign" else -1), 0), 5)
            if want == chart.range:  # at the end of the ranges: nothing to time
                self.keys([key])
                return
            await self.effect([key], lambda: chart.range == want and bool(chart.shown)
                              and chart.shown[0][2] == want)
        elif kind == "sort" and app.current_mode == "dashboard" and self.free():
            table = app.screen.query_one("#hosts")
            was = (table.sort_column, table.sort_reverse)  # type: ignore[attr-defined]
            await self.effect(r.choice(["o", "r"]), lambda: (
                table.sort_column, table.sort_reverse) != was)  # type: ignore[attr-defined]

    async def incident(self) -> None:
        """Enter on an alert (the alerts screen or the dashboard's feed), then one of the
        incident view's keys, as fast as an operator types them."""
        from tui.screens.incident import IncidentScreen

        app, r = self.app, self.rnd
        if not isinstance(app.screen, IncidentScreen):
            if app.current_mode != "alerts":
                await self.effect("2", lambda: app.current_mode == "alerts"
                                  and app.screen.is_mounted)
            if app.screen.selected_alert() is None:  # a heading row, or no alerts
                return
            await self.effect(["enter"], lambda: isinstance(app.screen, IncidentScreen)
                              and app.screen.complete)
        inc = app.screen
        key = r.choice(["a", "x", "c", "i", "/", "r", "h", "e", "escape", "tab"])
        if key in ("a", "x", "c", "i"):
            self.keys(key)  # a dialog over the incident (ack: only while it is active)
            try:
                await self._wait(lambda: isinstance(app.screen, ModalScreen), 1.5)
            except AssertionError:
                return
            await self.effect(["escape"], lambda: app.screen is inc)
        elif key == "/":
            text = r.choice(["error", "timed out", "health check", "zz-no-line", "ack"])
            self.keys("/" + text)
            box = inc.query_one("#inc-filter", Input)
            await self._wait(lambda: box.value == text, EFFECT_TIMEOUT_S)
            if app.rewind.active:  # escape goes back to live first, on any screen
                await self.effect(["escape"], lambda: not app.rewind.active)
            else:
                await self.effect(["escape"], lambda: box.value == "")
        elif key == "r":
            await self.effect("r", lambda: app.screen is inc and inc.complete)
        elif key == "h":
            await self.effect("h", lambda: app.current_mode == "host" and app.screen.is_mounted)
        elif key == "e":
            await self.effect("e", lambda: app.current_mode == "events" and app.screen.is_mounted)
        elif key == "escape":
            box = inc.query_one("#inc-filter", Input)
            if app.rewind.active:  # escape goes back to live first, on any screen
                await self.effect(["escape"], lambda: not app.rewind.active)
            elif box.value or app.focused is box:  # (a tab put the cursor in the filter box)
                await self.effect(["escape"], lambda: box.value == "" and app.focused is not box)
            else:  # (the first escape clears the filter, the next leaves: step_back)
                await self.effect(["escape"], lambda: not isinstance(app.screen, IncidentScreen))
        else:
            self.keys(["tab"])

    async def rewind(self) -> None:
        """`t` and a moment typed (the screens show the fleet as it was, under a banner),
        then a step with `[` / `]`, or Esc back to live."""
        from tui.screens.time_picker import TimePicker
        from tui.widgets.rewind_banner import RewindBanner

        app, r, rw = self.app, self.rnd, self.app.rewind

        def banner() -> bool:
            return bool(app.screen.query(RewindBanner))
        if rw.target is None:
            await self.effect("t", lambda: isinstance(app.screen, TimePicker))
            await self.effect(r.choice(["-30s", "-1m", "-90s"]) + "\n",
                              lambda: not isinstance(app.screen, TimePicker) and banner())
        key = r.choice(["[", "]", "escape", "escape"])
        if key == "escape":
            await self.effect(["escape"], lambda: rw.target is None and not banner())
        else:  # a step the broker cannot show (older than it keeps, or now) is refused
            self.keys(key)
            await self.pilot.pause()

    async def _wait(self, cond: Callable[[], bool], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not cond():
            if time.perf_counter() > deadline:
                raise AssertionError("condition not met")
            await asyncio.sleep(0.005)  # poll

    def p50_ms(self) -> float:
        lat = sorted(self.latencies)
        return lat[len(lat) // 2] * 1000 if lat else 0.0

    def p99_ms(self) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
