"""The console's first screen visits parse only the CSS that is new (tui/css_cache.py), and
full garbage collections run after a frame is sent, never in the middle of one
(tui/gc_pacer.py). Both were the soak's slowest keys (tests/soak)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from textual.css import stylesheet as textual_stylesheet
from textual.css.stylesheet import StylesheetParseError

from tests.snapshots.frozen_app import make_app, until
from tui.css_cache import CachedStylesheet
from tui.gc_pacer import FULL_NEVER, GROWTH, OVERDUE, GcPacer

CSS_A = "Static { height: 1; color: $text; }"
CSS_B = "Label { width: 10; }"


def counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every CSS text Textual's parser is given, in order."""
    seen: list[str] = []
    real = textual_stylesheet.parse

    def parse(scope: str, css: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(css)
        return real(scope, css, *args, **kwargs)

    monkeypatch.setattr(textual_stylesheet, "parse", parse)
    return seen


def test_a_reparse_parses_only_new_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = counting_parses(monkeypatch)
    sheet = CachedStylesheet(variables={"text": "white"})
    sheet.add_source(CSS_A, read_from=("a", "A"))
    sheet.parse()
    rules_a = list(sheet.rules)
    sheet.add_source(CSS_B, read_from=("b", "B"))
    sheet.reparse()
    assert seen == [CSS_A, CSS_B]  # A parsed once, though the whole sheet was re-parsed
    assert sheet.rules[:len(rules_a)] == rules_a and len(sheet.rules) > len(rules_a)
    sheet.reparse()
    assert seen == [CSS_A, CSS_B]


def test_new_variables_parse_everything_again(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = counting_parses(monkeypatch)
    sheet = CachedStylesheet(variables={"text": "white"})
    sheet.add_source(CSS_A, read_from=("a", "A"))
    sheet.parse()
    sheet.set_variables({"text": "black"})  # a theme change
    sheet.reparse()
    assert seen == [CSS_A, CSS_A]


def test_invalid_css_raises_every_time_and_keeps_the_sheet() -> None:
    sheet = CachedStylesheet()
    sheet.add_source(CSS_B, read_from=("b", "B"))
    sheet.parse()
    good = list(sheet.rules)
    sheet.add_source("Label { width: nonsense-value; }", read_from=("bad", "X"))
    for _ in range(2):
        with pytest.raises(StylesheetParseError):
            sheet.reparse()
    assert sheet.rules == good


async def test_a_first_switch_parses_its_screen_css_once(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        seen = counting_parses(monkeypatch)
        reparses: list[int] = []
        kind = type(app.stylesheet)
        real = kind.reparse

        def reparse(self: Any) -> None:
            reparses.append(1)
            real(self)

        monkeypatch.setattr(kind, "reparse", reparse)
        await pilot.press("2")
        await until(pilot, lambda: app.current_mode == "alerts" and app.screen.is_mounted,
                    what="alerts")
        await pilot.pause()
        # Textual's own path: three full re-parses (load the screen's CSS, refresh_css twice)
        assert len(reparses) == 1
        alerts_css = [css for css in seen if "AlertsScreen" in css]
        assert len(alerts_css) == 1, "alerts.tcss parsed once"
        assert len(seen) <= 3, f"only new sources parsed, not all: {len(seen)}"
        app.exit()


def test_pacer_takes_full_collections_from_python_and_gives_them_back() -> None:
    before = gc.get_threshold()
    pacer = GcPacer()
    pacer.install()
    try:
        assert gc.get_threshold() == (before[0], before[1], FULL_NEVER)
    finally:
        pacer.uninstall()
    assert gc.get_threshold() == before


def young_collections(n: int) -> None:
    for _ in range(n):
        gc.collect(1)  # each counts towards the next full collection


@pytest.fixture
def pacer() -> Iterator[GcPacer]:
    """An installed pacer, Python's thresholds given back after the test."""
    paced = GcPacer()
    paced.install()
    try:
        yield paced
    finally:
        paced.uninstall()


def test_a_full_collection_waits_for_a_frame_with_nothing_queued(pacer: GcPacer) -> None:
    gc.collect()
    young_collections(pacer.every + 1)
    pacer.painted(queued=2)  # keys waiting: their frames first
    assert pacer.collections == 0 and gc.get_count()[2] > pacer.every
    pacer.tick()  # due, not overdue
    assert pacer.collections == 0
    pacer.painted(queued=0)
    assert pacer.collections == 1 and gc.get_count()[2] == 0
    pacer.painted(queued=0)  # not due again yet
    assert pacer.collections == 1


def test_a_full_collection_waits_for_the_old_generation_to_grow_by_a_quarter(
        pacer: GcPacer) -> None:
    """CPython's own rule (no full pass while what reached the old generation since the last
    is under a quarter of it), measured as net growth."""
    keep: list[Any] = []
    young_collections(pacer.every + 1)
    pacer.painted(queued=0)
    assert pacer.collections == 1 and pacer.after == len(gc.get_objects(2))
    young_collections(pacer.every * OVERDUE + 1)  # due by count, nothing new kept
    pacer.painted(queued=0)
    pacer.tick()
    assert pacer.collections == 1
    keep.extend([i] for i in range(int(pacer.after * GROWTH) + 1000))
    young_collections(1)  # promoted to the old generation: grown past a quarter
    pacer.painted(queued=0)
    assert pacer.collections == 2 and gc.get_count()[2] == 0


def test_no_full_collection_while_a_reply_is_awaited(pacer: GcPacer) -> None:
    young_collections(pacer.every + 1)
    pacer.painted(queued=0, awaiting=1)  # Enter asked for an incident: its reply first
    assert pacer.collections == 0
    pacer.painted(queued=0, awaiting=0)
    assert pacer.collections == 1


def test_an_overdue_collection_runs_at_the_tick_whatever_is_queued(pacer: GcPacer) -> None:
    gc.collect()
    young_collections(pacer.every * 3 + 1)
    pacer.tick()
    assert pacer.collections == 1


async def test_the_app_paces_while_it_runs_and_restores_after() -> None:
    before = gc.get_threshold()
    app = make_app(refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert gc.get_threshold()[2] == FULL_NEVER
        gc.collect()
        young_collections(app.gc_pacer.every + 1)
        await pilot.press("2")  # a frame goes out
        await until(pilot, lambda: app.gc_pacer.collections >= 1, what="a paced collection")
    assert gc.get_threshold() == before
