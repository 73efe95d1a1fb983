"""Every rule kind, table-driven on explicit ``now`` values."""

from __future__ import annotations

import pytest

from broker.alerting.windows import Trend, percentile
from tests.unit.engine_helpers import T0, engine_from, only, rule, transitions


def run(engine, samples, metric="m.x", host="h1"):
    """samples: [(offset, value)] -> states after each sample ('none' without an alert)."""
    states = []
    for dt, v in samples:
        engine.on_sample(host, {metric: v}, None, T0 + dt)
        al = engine.alerts()
        states.append(al[0]["state"] if al else "none")
    return states


@pytest.mark.parametrize(("agg", "samples", "states", "value"), [
    # window 10 s, warning > 50
    ("avg", [(0, 40), (1, 70), (2, 40)], ["none", "firing", "resolved"], 50.0),
    ("max", [(0, 40), (1, 70), (2, 40), (12, 40)], ["none", "firing", "firing", "resolved"],
     40.0),
    ("min", [(0, 60), (1, 40), (2, 60), (12, 60)], ["firing", "resolved", "resolved", "firing"],
     60.0),
])
def test_threshold_window_aggregation(agg, samples, states, value):
    e = engine_from(rule("w", kind="threshold", metric="m.x", warning=50, over="10s", agg=agg))
    assert run(e, samples) == states
    if e.alerts():
        assert e.alerts()[0]["value"] == pytest.approx(value)


@pytest.mark.parametrize(("spikes", "fires_at", "value"), [
    (1, None, 5.0),     # 19 x 0 and one 100: p95 = 5, one spike does not alert
    (2, 19, 100.0),     # two spikes in 20 points: p95 reaches 100
])
def test_threshold_p95_ignores_a_lone_spike(spikes, fires_at, value):
    e = engine_from(rule("w", kind="threshold", metric="m.x", warning=50, over="30s",
                         agg="p95"))
    samples = [(i, 100 if i >= 20 - spikes else 0) for i in range(20)]
    states = run(e, samples)
    expected = ["none"] * 20 if fires_at is None else ["none"] * fires_at + ["firing"]
    assert states == expected
    if fires_at is not None:
        assert e.alerts()[0]["value"] == pytest.approx(value)


def test_percentile():
    assert percentile([1.0], 0.95) == 1.0
    assert percentile([0.0, 10.0], 0.5) == 5.0
    assert percentile([float(i) for i in range(101)], 0.95) == pytest.approx(95.0)


def test_rate_is_change_per_second_over_the_window():
    e = engine_from(rule("r", kind="rate", metric="proc.count", warning=5, over="10s"))
    assert run(e, [(0, 100), (2, 104), (4, 150), (20, 150), (22, 151)],
               metric="proc.count") == ["none", "none", "firing", "firing", "resolved"]
    a = e.alerts()[0]
    assert a["value"] == pytest.approx(0.5)


def test_rate_with_a_falling_value_and_op_less_than():
    e = engine_from(rule("r", kind="rate", metric="mem.available", op="<", warning=-100,
                         over="1m", counter=False))
    assert run(e, [(0, 5000), (10, 3000)], metric="mem.available") == ["none", "firing"]
    assert e.alerts()[0]["value"] == pytest.approx(-200.0)


def test_rate_treats_a_counter_reset_as_a_restart_from_zero():
    # Prometheus rate(): 100 -> 110 then reset to 0 -> 6 is an increase of 10 + 6 = 16 in
    # 30 s, not a drop of 94; a plain difference would show a negative rate.
    e = engine_from(rule("r", kind="rate", metric="req.total", warning=1, over="1m"))
    run(e, [(0, 100), (10, 110), (20, 0), (30, 6)], metric="req.total")
    assert e.hosts["h1"].watched[0][1][0].value == pytest.approx(16 / 30)
    assert e.alerts() == []
    gauge = engine_from(rule("r", kind="rate", metric="req.total", op="<", warning=-1,
                             over="1m", counter=False))
    assert run(gauge, [(0, 100), (10, 110), (20, 0), (30, 6)], metric="req.total")[-1] == \
        "firing"


def test_rate_reset_does_not_fire_a_falling_rate_rule_on_a_counter():
    e = engine_from(rule("r", kind="rate", metric="req.total", op="<", warning=0, over="1m"))
    assert run(e, [(0, 500), (5, 510), (10, 3), (15, 9)], metric="req.total") == [
        "none"] * 4


def test_absent_fires_after_for_without_samples_and_resolves_on_one():
    e = engine_from(rule("a", kind="absent", metric="app.heartbeat", for_="2m"))
    e.on_sample("h1", {"app.heartbeat": 1, "cpu.percent": 3}, None, T0)
    e.on_sample("h1", {"cpu.percent": 3}, None, T0 + 60)
    assert e.tick(T0 + 119) == []
    ev = e.tick(T0 + 120)
    assert transitions(ev) == [("inactive", "firing")]
    assert ev[0]["data"]["value"] == 120.0 and ev[0]["severity"] == "critical"
    assert ev[0]["data"]["alert"]["metric"] == "app.heartbeat"
    assert e.tick(T0 + 130) == []
    ev = e.on_sample("h1", {"app.heartbeat": 1}, None, T0 + 131)
    assert transitions(ev) == [("firing", "resolved")]


def test_absent_never_fires_for_a_metric_never_seen():
    e = engine_from(rule("a", kind="absent", metric="app.heartbeat", for_="10s"))
    e.on_sample("h1", {"cpu.percent": 3}, None, T0)
    assert e.tick(T0 + 1000) == []
    assert e.alerts() == []


def test_host_down_counts_log_frames_as_signs_of_life():
    e = engine_from(rule("down", kind="host_down", for_="30s"))
    e.on_sample("h1", {"cpu.percent": 3}, None, T0)
    e.on_log("h1", "info", "still here", "/var/log/syslog", T0 + 20)
    assert e.tick(T0 + 49) == []
    assert transitions(e.tick(T0 + 50)) == [("inactive", "firing")]
    assert transitions(e.on_log("h1", "info", "back", "x", T0 + 51)) == [("firing", "resolved")]


def test_host_down_and_absent_wait_while_the_broker_is_behind_on_its_socket():
    """seen_by: the last moment the broker had read every frame; frames still unread in
    its own backlog are not a host's silence (broker/ingest/handler.py seen_by)."""
    e = engine_from(rule("down", kind="host_down", for_="30s")
                    + rule("gone", kind="absent", metric="cpu.percent", for_="30s"))
    e.on_sample("h1", {"cpu.percent": 3}, None, T0)
    assert e.tick(T0 + 60, seen_by=T0 + 5) == []  # behind since T0 + 5: nothing judged
    fired = transitions(e.tick(T0 + 61, seen_by=T0 + 31))
    assert fired == [("inactive", "firing")] * 2


def feed_trend(e, start, per_s, minutes, metric="disk./.percent", step=10):
    out = []
    for t in range(0, minutes * 60, step):
        out += e.on_sample("h1", {metric: start + per_s * t}, None, T0 + t)
    return out


def test_forecast_fires_when_the_trend_reaches_the_value_within_the_horizon():
    e = engine_from(rule("fill", kind="forecast", metric="disk.*.percent", op=">=",
                         warning=100, over="1h", horizon="4h"))
    # 50 % rising 1 % every 6 minutes reaches ~90 % in 4 h: no alert
    assert feed_trend(e, 50.0, 1 / 360, 20) == []
    e2 = engine_from(rule("fill", kind="forecast", metric="disk.*.percent", op=">=",
                          warning=100, over="1h", horizon="4h"))
    # 50 % rising 1 % every 3 minutes reaches 100 % in 2.5 h: fires once 5 buckets exist
    ev = feed_trend(e2, 50.0, 1 / 180, 20)
    assert transitions(ev) == [("inactive", "firing")]
    assert ev[0]["ts"] == T0 + 5 * 60  # the 5th closed bucket of 1 min (1 h / 60)
    assert ev[0]["data"]["value"] == pytest.approx(50 + (5 * 60 + 4 * 3600) / 180)


def test_forecast_of_a_flat_or_falling_series_stays_quiet():
    e = engine_from(rule("fill", kind="forecast", metric="disk.*.percent", warning=100,
                         over="10m", horizon="4h"))
    assert feed_trend(e, 99.0, 0.0, 30) == []
    assert feed_trend(e, 99.0, -0.001, 30) == []


def test_trend_needs_five_points_and_spread():
    t = Trend(60.0, buckets=6)
    for i in range(40):
        t.add(float(i), 2.0 * i)
    assert len(t.pt) == len(t.pv) == 3 and t.predict(100.0) is None
    for i in range(40, 80):
        t.add(float(i), 2.0 * i)
    assert t.predict(100.0) == pytest.approx(200.0)


def test_log_rule_matches_on_level_alone_or_with_the_message():
    e = engine_from(rule("lvl", kind="log", level="error+", count=2, over="1m")
                    + rule("both", kind="log", level=["warning"], pattern="disk", count=1))
    assert e.on_log("h1", "info", "boring", "app", T0) == []
    assert e.on_log("h1", "warning", "cpu hot", "app", T0 + 1) == []
    assert e.on_log("h1", "error", "x", "app", T0 + 2) == []
    ev = e.on_log("h1", "critical", "y", "app", T0 + 3)
    assert [x["rule"] for x in ev] == ["lvl"] and transitions(ev) == [("inactive", "firing")]
    ev = e.on_log("h1", "WARNING", "disk slow", "app", T0 + 4)
    assert [x["rule"] for x in ev] == ["both"]
    ev = e.on_log("h1", "error", "disk gone", "app", T0 + 70)  # error is not warning
    assert "both" not in [x["rule"] for x in ev]


LOG = rule("errs", kind="log", pattern=r"(?i)\b(error|fatal|panic)\b", count=3, over="1m")


def test_log_rule_counts_matches_in_the_window_and_resolves_on_tick():
    e = engine_from(LOG)
    assert e.on_log("h1", "info", "an ERROR here", "app", T0) == []
    assert e.on_log("h1", "info", "no problem; terrorist is not a word match", "app",
                    T0 + 1) == []
    assert e.on_log("h1", "info", "fatal: disk", "app", T0 + 2) == []
    ev = e.on_log("h1", "info", "kernel panic", "app", T0 + 3)
    assert transitions(ev) == [("inactive", "firing")]
    assert ev[0]["data"]["value"] == 3.0 and ev[0]["data"]["threshold"] == 3.0
    assert e.tick(T0 + 59) == []
    assert transitions(e.tick(T0 + 60)) == [("firing", "resolved")]


def test_log_rule_source_filter():
    e = engine_from(LOG + "source = '/var/log/app/*'\n")
    for i in range(5):
        e.on_log("h1", "error", "error", "/var/log/syslog", T0 + i)
    assert e.alerts() == []
    for i in range(3):
        e.on_log("h1", "error", "error", "/var/log/app/x.log", T0 + i)
    assert only(e, rule="errs")["state"] == "firing"


def test_log_alert_with_for_is_pending_first():
    e = engine_from(rule("errs", kind="log", pattern="ERR", count=1, over="1m", for_="10s"))
    assert transitions(e.on_log("h1", "error", "ERR", "a", T0)) == [("inactive", "pending")]
    assert transitions(e.tick(T0 + 10)) == [("pending", "firing")]
