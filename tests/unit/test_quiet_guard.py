"""The engine's quiet guard (broker/alerting/quiet.py) changes nothing but the cost."""

from __future__ import annotations

import random

import pytest

from broker.alerting.quiet import QuietPlan
from tests.unit.engine_helpers import T0, engine_from, rule

RULES = (rule("hi", kind="threshold", metric="m.a", op=">", warning=80, critical=90, clear=5)
         + rule("lo", kind="threshold", metric="m.b", op="<", warning=20, clear=5)
         + rule("ge", kind="threshold", metric="m.a", op=">=", critical=95)
         + rule("le", kind="threshold", metric="m.b", op="<=", warning=10,
                keep_firing_for="5s")
         + rule("win", kind="threshold", metric="m.c", warning=50, over="10s")
         + rule("pc", kind="threshold", metric="m.d", op=">", per_core=True, warning=2.0,
                critical=4.0, clear=0.25))


def events(engine, samples):
    out = []
    for i, metrics in enumerate(samples):
        for e in engine.on_sample("h1", metrics, None, T0 + i):
            out.append((i, e["kind"], e["data"].get("change"), e["data"].get("to"),
                        e["data"].get("alert", {}).get("rule")))
        if i % 7 == 0:
            out.extend((i, e["kind"], "tick", None, None) for e in engine.tick(T0 + i))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_the_guard_gives_the_events_of_a_full_evaluation(seed, monkeypatch):
    rng = random.Random(seed)
    samples = []
    for _ in range(400):  # mostly quiet, with excursions past every edge and back
        far = rng.random() < 0.15
        m = {"m.a": rng.uniform(0, 100) if far else rng.uniform(0, 70),
             "m.b": rng.uniform(0, 100) if far else rng.uniform(30, 100),
             "m.c": rng.uniform(0, 100),
             "m.d": rng.uniform(0, 20) if far else rng.uniform(0, 7)}  # load, 4 cores
        if rng.random() < 0.05:
            del m["m.a"]  # a watched name missing from a frame
        if len(samples) > 20 and rng.random() < 0.9:
            m["cpu.count"] = 4.0  # per-core rules wait for the core count
        samples.append(m)
    guarded = events(engine_from(RULES), samples)
    monkeypatch.setattr(QuietPlan, "quiet", lambda self, metrics, cores=0.0: False)
    full = events(engine_from(RULES), samples)
    assert guarded == full
    assert any(e[2] == "state" for e in full)  # the samples did cross the edges


def test_a_quiet_frame_skips_only_while_every_guarded_series_is_idle():
    e = engine_from(RULES)
    e.on_sample("h1", {"m.a": 10.0, "m.b": 50.0}, None, T0)
    hs = e.hosts["h1"]
    assert hs.idle and hs.plan.quiet({"m.a": 80.0, "m.b": 20.0})  # on the edges: no level
    assert not hs.plan.quiet({"m.a": 80.5, "m.b": 50.0})
    assert not hs.plan.quiet({"m.b": 50.0})  # m.a missing: evaluated in full
    e.on_sample("h1", {"m.a": 85.0, "m.b": 50.0}, None, T0 + 1)
    assert not hs.idle  # firing: hysteresis matters now
    e.on_sample("h1", {"m.a": 77.0, "m.b": 50.0}, None, T0 + 2)  # inside the clear margin
    assert [a["state"] for a in e.alerts()] == ["firing"]
    e.on_sample("h1", {"m.a": 70.0, "m.b": 50.0}, None, T0 + 3)
    assert [a["state"] for a in e.alerts()] == ["resolved"] and hs.idle


def test_a_restored_firing_alert_is_judged_by_the_next_sample():
    e = engine_from(RULES)
    e.on_sample("h1", {"m.a": 95.0, "m.b": 50.0}, None, T0)
    saved = e.dump_state()
    e2 = engine_from(RULES)
    e2.restore_state(saved)
    e2.on_sample("h1", {"m.a": 10.0, "m.b": 50.0}, None, T0 + 1)
    assert {a["rule"]: a["state"] for a in e2.alerts()} == {"hi": "resolved",
                                                            "ge": "resolved"}


def test_a_per_core_threshold_is_guarded_on_value_per_core():
    e = engine_from(RULES)
    e.on_sample("h1", {"m.a": 10.0, "m.b": 50.0, "m.d": 1.0, "cpu.count": 4.0}, None, T0)
    hs = e.hosts["h1"]
    assert hs.idle
    assert hs.plan.quiet({"m.a": 10.0, "m.b": 50.0, "m.d": 8.0}, 4.0)  # 2.0 a core: no level
    assert not hs.plan.quiet({"m.a": 10.0, "m.b": 50.0, "m.d": 8.1}, 4.0)
    assert not hs.plan.quiet({"m.a": 10.0, "m.b": 50.0, "m.d": 1.0}, 0.0)  # cores unknown
    assert not hs.plan.rest or all(n != "m.d" for n, _ in hs.plan.rest)
    e.on_sample("h1", {"m.a": 10.0, "m.b": 50.0, "m.d": 9.0, "cpu.count": 4.0}, None, T0 + 1)
    assert [a["rule"] for a in e.alerts()] == ["pc"] and not hs.idle
