"""The anomaly rule on the project's own synthetic series, driven by sample timestamps (the
engine's ``now``), never by a wall clock: the targets of docs/alerts.md, asserted."""

from __future__ import annotations

from typing import Any

import pytest

from broker.alerting.engine import AlertEngine
from broker.alerting.rules import parse_rules
from tests.unit.synthetic_series import DAY, SD, cpu_noise, daily, noise, with_ramp, with_step

Series = list[tuple[float, float]]


def replay(series: Series, **keys: Any) -> tuple[list[int], list[bool], AlertEngine]:
    """Feed ``series`` as cpu.percent of h1 (tick after each sample). Returns the onsets
    (sample indexes where the alert began firing), firing-or-not after each sample, and
    the engine."""
    rule = {"name": "odd", "kind": "anomaly", "metric": "cpu.percent", **keys}
    e = AlertEngine(parse_rules([rule], "test.toml"))
    onsets, firing = [], []
    for i, (t, v) in enumerate(series):
        events = e.on_sample("h1", {"cpu.percent": v}, None, t) + e.tick(t)
        if any(x["kind"] == "alert" and x["data"]["change"] == "state"
               and x["data"]["to"] == "firing" for x in events):
            onsets.append(i)
        firing.append(any(a["state"] == "firing" for a in e.alerts()))
    return onsets, firing, e


def per_day(onsets: list[int], series: Series) -> float:
    return len(onsets) / ((series[-1][0] - series[0][0]) / DAY)


@pytest.mark.parametrize("make", [noise, cpu_noise], ids=["gaussian", "cpu-like"])
def test_noise_raises_at_most_one_false_alert_a_day(make):
    series = make(3 * 8640)  # three days at one sample per 10 s
    onsets, _, _ = replay(series)
    assert per_day(onsets, series) <= 1.0, onsets


def test_a_6_sigma_step_is_detected_within_3_samples_and_held_while_it_lasts():
    at, length = 8640, 600  # a day of noise, then 100 minutes shifted by 6 sigma
    series = with_step(noise(at + length + 100), at, length, 6 * SD)
    onsets, firing, _ = replay(series)
    assert onsets and at <= onsets[0] < at + 3, onsets
    assert all(firing[onsets[0]:at + length]), "the alert let go while the shift lasted"
    assert onsets == [onsets[0]], onsets  # one episode, not a flurry
    assert not firing[at + length + 20], "the alert outlived the shift"


def test_a_downward_step_needs_op_below_or_either():
    at = 8640
    series = with_step(noise(at + 100), at, 100, -6 * SD)
    assert replay(series, op=">")[0] == []
    assert replay(series, op="<")[0][:1] == [at]
    assert replay(series, op="!=")[0][:1] == [at]


def test_a_spike_fires_and_resolves_and_does_not_move_the_baseline():
    at = 8640
    series = noise(at + 50)
    series[at] = (series[at][0], series[at][1] + 10 * SD)
    onsets, firing, e = replay(series)
    assert onsets == [at]
    assert not firing[at + 10]
    a = e.alerts()[0]
    lo, hi = a["expected"]
    assert lo < 40.0 < hi and hi - lo < 12 * SD  # the band still describes the noise


def test_a_ramp_is_caught_before_it_is_far_out():
    at = 8640  # climbs 10 sigma over 100 samples
    series = with_ramp(noise(at + 200), at, 100, 10 * SD)
    onsets, firing, _ = replay(series)
    assert onsets and at < onsets[0] < at + 50, onsets  # before it reaches +5 sigma
    assert all(firing[onsets[0]:at + 200])


def test_daily_seasonality_is_learned_so_the_cycle_is_not_an_anomaly():
    series = daily(6 * 1440)  # six days, one sample a minute, a 10-sigma daily swing
    onsets, _, e = replay(series)
    late = [i for i in onsets if i >= 3 * 1440]
    assert len(late) <= 3, late  # at most one a day once three days were seen
    # and a spike on top of the cycle is still seen, at the cycle's low point as well
    at = 5 * 1440 + 180  # 03:00, near the bottom of the cycle
    spiked = list(series)
    spiked[at] = (series[at][0], series[at][1] + 10 * SD)
    assert at in replay(spiked)[0]


def test_the_message_says_what_was_expected_and_what_was_seen():
    at = 8640
    series = with_step(noise(at + 5), at, 5, 12 * SD)
    _, _, e = replay(series)
    a = e.alerts()[0]
    assert a["summary"].startswith("cpu.percent on h1 unusual: expected ")
    lo, hi = a["expected"]
    assert f"{lo:.0f}–{hi:.0f} %" in a["summary"] and "seen 6" in a["summary"], a["summary"]
    assert a["value"] == series[-1][1] and a["threshold"] == hi and a["zscore"] > 5


@pytest.mark.parametrize(("sensitivity", "fires"), [(1, False), (10, True)])
def test_sensitivity_is_the_one_knob(sensitivity, fires):
    at = 8640  # a single sample 6 sigma out: news at the highest sensitivity, not at the lowest
    series = with_step(noise(at + 5), at, 1, 6 * SD)
    assert bool(replay(series, sensitivity=sensitivity)[0]) is fires


def test_warm_up_is_silent_and_the_baseline_survives_dump_and_restore():
    series = noise(400)
    wild = list(series)
    wild[10] = (wild[10][0], 500.0)
    assert replay(wild)[0] == []  # the first 30 samples only teach
    _, _, e = replay(series)
    e2 = AlertEngine(e.rules)
    e2.restore_state(e.dump_state())
    t = series[-1][0] + 10
    events = e2.on_sample("h1", {"cpu.percent": 40.0 + 10 * SD}, None, t)
    assert [x["data"]["to"] for x in events if x["kind"] == "alert"] == ["firing"]


def test_the_old_ewma_key_gets_a_clear_error():
    from core.config import ConfigError
    with pytest.raises(ConfigError, match="key 'alpha': the EWMA baseline is gone"):
        parse_rules([{"name": "a", "kind": "anomaly", "metric": "m", "alpha": 0.1}], "r.toml")


def test_a_simulated_anomaly_reads_sensibly_without_a_baseline():
    e = AlertEngine(parse_rules([{"name": "odd", "kind": "anomaly", "metric": "cpu.percent"}],
                                "test.toml"))
    events = e.simulate("odd", "h1", 1_700_000_000.0)
    fired = [x for x in events if x["kind"] == "alert"]
    assert fired[0]["data"]["alert"]["summary"] == (
        "cpu.percent on h1 unusual: expected the usual range, seen 97 %")
