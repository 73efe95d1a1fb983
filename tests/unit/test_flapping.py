"""Flap detection: the weighted percentage, start/stop thresholds, and held notifications."""

from __future__ import annotations

from collections import deque

import pytest

from broker.alerting.flapping import HISTORY, STABLE_RECORD_S, FlapDetector, change_percent
from tests.unit.engine_helpers import T0, engine_from, only, rule, transitions


@pytest.mark.parametrize(("states", "percent"), [
    ([True] * 21, 0.0),
    ([i % 2 == 0 for i in range(21)], 100.0),
    ([False] * 20 + [True], 6.0),          # one change, newest: weight 1.2
    ([False, True] + [True] * 19, 4.0),    # one change, oldest: weight 0.8
    ([False, True], 6.0),                  # a short history counts as the newest changes
    ([], 0.0),
])
def test_change_percent(states, percent):
    assert change_percent(deque(states)) == pytest.approx(percent)


def test_detector_starts_above_start_and_stops_below_stop():
    f = FlapDetector()
    changes = []
    state = False
    for i in range(8):
        state = not state
        changes.append(f.record(state, float(i), 30.0, 25.0))
    assert f.flapping is True
    started = changes.index(True)
    assert f.percent > 30.0 and started >= 5  # needs several changes before it starts
    n = 0
    while f.flapping:
        f.record(state, 100.0 + n, 30.0, 25.0)
        n += 1
    assert f.percent < 25.0 and n < HISTORY


@pytest.mark.parametrize("flapping", [True, False])
def test_between_stop_and_start_the_flag_keeps_its_value(flapping):
    f = FlapDetector()
    f.states = deque([False] * 16 + [True, False, True, False, True], maxlen=HISTORY)
    f.flapping = flapping
    assert f.record(True, 0.0, 30.0, 20.0) is False
    assert 20.0 < f.percent < 30.0 and f.flapping is flapping


def flappy_engine():
    return engine_from(rule("c", kind="threshold", metric="cpu.percent", critical=90))


def toggle(e, n, start=T0):
    out = []
    for i in range(n):
        out += e.on_sample("h1", {"cpu.percent": 99 if i % 2 == 0 else 1}, None, start + i)
    return out


def test_an_alert_that_keeps_changing_becomes_flapping_and_stops_notifying():
    e = flappy_engine()
    ev = toggle(e, 12)
    flaps = transitions(ev, "flapping")
    assert flaps == [("stable", "flapping")]
    assert only(e, rule="c")["flapping"] is True
    after = ev[[x["data"]["change"] for x in ev].index("flapping") + 1:]
    assert after and all(x["data"]["notify"] is False for x in after)
    before = [x for x in ev[:3] if x["data"]["change"] == "state"]
    assert before[0]["data"]["notify"] is True


def test_flapping_stops_once_the_alert_settles():
    e = flappy_engine()
    toggle(e, 12)
    e.on_sample("h1", {"cpu.percent": 99}, None, T0 + 20)  # firing from now on
    stopped = []
    t = T0 + 20
    for _ in range(HISTORY + 2):
        t += STABLE_RECORD_S
        e.on_sample("h1", {"cpu.percent": 99}, None, t)
        stopped += transitions(e.tick(t), "flapping")
    assert stopped == [("flapping", "stable")]
    assert only(e, rule="c")["flapping"] is False


def test_a_steady_alert_never_flaps():
    e = flappy_engine()
    ev = []
    for i in range(100):
        ev += e.on_sample("h1", {"cpu.percent": 99}, None, T0 + i)
        ev += e.tick(T0 + i)
    assert transitions(ev, "flapping") == [] and transitions(ev) == [("inactive", "firing")]
