"""simulate: named scenarios and any rule fire at once, labelled, and resolve by themselves;
and the property that no alert ever jumps from inactive to resolved."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.alerting.engine import AlertEngine
from broker.alerting.scenarios import SCENARIOS, SIMULATE_TTL_S
from tests.unit.engine_helpers import T0, engine_from, only, rule, transitions


@pytest.mark.parametrize(("name", "rule_name", "severity", "metric"), [
    ("high_cpu_usage", "high_cpu_usage", "critical", "cpu.percent"),
    ("high_memory_usage", "high_memory_usage", "critical", "mem.percent"),
    ("disk_full", "disk_full", "critical", "disk./.percent"),
    ("host_down", "host_down", "critical", ""),
    ("log_error", "log_errors", "warning", ""),
    ("high_load", "high_load", "critical", "load.1"),
    ("network_errors", "network_errors", "critical", "net.sim.err*_ps".replace("*", "sim")),
])
def test_scenarios_fire_at_once_labelled_simulated(name, rule_name, severity, metric):
    e = AlertEngine()
    ev = e.simulate(name, "web-1", T0)
    assert [x["kind"] for x in ev] == ["simulate", "alert"]
    assert ev[0]["data"]["scenario"] == name and ev[0]["data"]["expires"] == T0 + SIMULATE_TTL_S
    assert transitions(ev) == [("inactive", "firing")]
    a = ev[1]["data"]["alert"]
    assert (a["rule"], a["host"], a["severity"], a["simulated"], a["labels"], a["metric"]) == (
        rule_name, "web-1", severity, True, {"simulated": "true"}, metric)
    assert ev[1]["data"]["notify"] is True and ev[0]["alert_id"] == a["id"]


def test_simulated_alert_resolves_by_itself_and_real_samples_do_not_touch_it():
    e = AlertEngine()
    e.simulate("high_cpu_usage", "web-1", T0)
    e.on_sample("web-1", {"cpu.percent": 1.0}, None, T0 + 1)
    assert only(e, simulated=True)["state"] == "firing"
    def sim(events):
        return [x for x in events if x["data"]["alert"]["simulated"]]

    assert sim(e.tick(T0 + SIMULATE_TTL_S - 1)) == []
    ev = sim(e.tick(T0 + SIMULATE_TTL_S))
    assert transitions(ev) == [("firing", "resolved")]
    assert ev[0]["data"]["reason"] == "simulation over"


def test_simulating_again_extends_without_a_second_firing_event():
    e = AlertEngine()
    e.simulate("disk_full", "db", T0)
    ev = e.simulate("disk_full", "db", T0 + 200)
    assert [x["kind"] for x in ev] == ["simulate"]
    assert e.tick(T0 + SIMULATE_TTL_S) == []
    assert transitions(e.tick(T0 + 200 + SIMULATE_TTL_S)) == [("firing", "resolved")]


def test_simulated_host_down_inhibits_the_hosts_real_alerts():
    e = AlertEngine()
    e.simulate("host_down", "web-1", T0)
    for i in range(31):
        e.on_sample("web-1", {"cpu.percent": 99.0}, None, T0 + i)
    assert only(e, rule="high_cpu_usage", simulated=False)["inhibited"] is True


def test_default_host_and_unknown_scenario():
    e = AlertEngine()
    assert e.simulate("high_cpu_usage", None, T0)[1]["host"] == "simulated"
    with pytest.raises(ValueError) as err:
        e.simulate("meteor_strike", "h", T0)
    for known in SCENARIOS:
        assert known in str(err.value)
    assert "meteor_strike" in str(err.value)


def test_scenarios_work_with_a_custom_rule_set_that_lacks_them():
    e = engine_from(rule("mine", kind="threshold", metric="app.latency", op="<", warning=5))
    ev = e.simulate("high_cpu_usage", "h", T0)
    assert ev[1]["rule"] == "high_cpu_usage"
    ev = e.simulate("mine", "h", T0)
    assert ev[1]["data"]["alert"]["metric"] == "app.latency"
    assert ev[1]["data"]["value"] < 5


# ---------------------------------------------------------------- the property

RULES = (rule("p", kind="threshold", metric="cpu.percent", warning=50, critical=80, clear=5,
              for_="3s", keep_firing_for="2s")
         + rule("q", kind="threshold", metric="cpu.percent", critical=60, over="4s", agg="max")
         + rule("down", kind="host_down", for_="5s"))
ALLOWED = {("inactive", "pending"), ("inactive", "firing"), ("pending", "firing"),
           ("pending", "inactive"), ("firing", "resolved"), ("resolved", "pending"),
           ("resolved", "firing")}

steps = st.lists(st.tuples(st.sampled_from(["sample", "tick", "ack"]),
                           st.floats(0.0, 4.0), st.floats(0.0, 100.0),
                           st.sampled_from(["h1", "h2"])), max_size=60)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_an_alert_never_goes_from_inactive_to_resolved(seq):
    e = engine_from(RULES)
    now, state = T0, {}
    for op, dt, value, host in seq:
        now += dt
        if op == "sample":
            events = e.on_sample(host, {"cpu.percent": value}, None, now)
        elif op == "tick":
            events = e.tick(now)
        else:
            events = []
            for a in e.alerts():
                if a["state"] == "firing":
                    events = e.ack(a["id"], "bot", "", value > 50, "3s", now)
                    break
        for ev in events:
            if ev["kind"] != "alert" or ev["data"]["change"] != "state":
                continue
            frm, to = ev["data"]["from"], ev["data"]["to"]
            assert (frm, to) in ALLOWED
            known = state.get(ev["alert_id"], "inactive")
            if known == "resolved" and frm == "inactive":
                known = "inactive"  # pruned after RESOLVED_KEEP_S, a fresh episode
            assert frm == known, (ev["alert_id"], known, frm, to)
            state[ev["alert_id"]] = to
        for a in e.alerts():
            assert a["state"] in ("pending", "firing", "resolved")
            assert state.get(a["id"]) == a["state"]
