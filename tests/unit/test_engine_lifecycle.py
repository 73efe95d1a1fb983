"""Alert lifecycle on explicit ``now`` values: pending, firing, severity, hysteresis,
keep_firing_for, resolved retention, acks, inhibition, staleness, reload, persistence."""

from __future__ import annotations

import msgpack
import pytest

from broker.alerting.engine import RESTART_HOLD_S, STALE_AFTER_S, AlertEngine
from broker.alerting.lifecycle import RESOLVED_KEEP_S
from tests.unit.engine_helpers import T0, engine_from, only, rule, transitions

CPU = rule("cpu", kind="threshold", metric="cpu.percent", warning=80, critical=95, clear=5,
           for_="30s")


def feed(engine: AlertEngine, values: list[float], start: float = T0, step: float = 1.0,
         metric: str = "cpu.percent", host: str = "h1") -> list[dict]:
    out = []
    for i, v in enumerate(values):
        out += engine.on_sample(host, {metric: v}, None, start + i * step)
    return out


def test_pending_then_firing_after_for_on_a_sample():
    e = engine_from(CPU)
    assert transitions(e.on_sample("h1", {"cpu.percent": 85}, None, T0)) == [
        ("inactive", "pending")]
    assert only(e, rule="cpu")["state"] == "pending"
    assert e.on_sample("h1", {"cpu.percent": 85}, None, T0 + 29.9) == []
    ev = e.on_sample("h1", {"cpu.percent": 85}, None, T0 + 30)
    assert transitions(ev) == [("pending", "firing")]
    a = ev[0]["data"]["alert"]
    assert (a["state"], a["severity"], a["started_at"], a["threshold"]) == (
        "firing", "warning", T0, 80.0)
    assert ev[0]["data"]["notify"] is True and ev[0]["severity"] == "warning"
    assert ev[0]["message"] == "firing: cpu.percent on h1 at 85 (> 80)"


def test_pending_fires_on_the_tick_without_a_new_sample():
    e = engine_from(CPU)
    e.on_sample("h1", {"cpu.percent": 99}, None, T0)
    assert e.tick(T0 + 29) == []
    assert transitions(e.tick(T0 + 30)) == [("pending", "firing")]
    assert only(e, rule="cpu")["severity"] == "critical"


def test_pending_that_clears_goes_back_to_inactive_and_disappears():
    e = engine_from(CPU)
    e.on_sample("h1", {"cpu.percent": 85}, None, T0)
    assert transitions(e.on_sample("h1", {"cpu.percent": 10}, None, T0 + 5)) == [
        ("pending", "inactive")]
    assert e.alerts() == []
    assert e.tick(T0 + 60) == []


def test_zero_for_fires_at_once():
    e = engine_from(rule("c", kind="threshold", metric="cpu.percent", critical=90))
    ev = e.on_sample("h1", {"cpu.percent": 91.5}, None, T0)
    assert transitions(ev) == [("inactive", "firing")]
    assert ev[0]["severity"] == "critical"


# value sequence -> (state, severity) after each value; op ">", warning 80, critical 95, clear 5
HYSTERESIS = [
    ([81, 78, 76, 75], ["firing/warning", "firing/warning", "firing/warning", "resolved/warning"]),
    ([80, 80.1], ["none", "firing/warning"]),
    ([96, 92, 91, 89.9, 80], ["firing/critical", "firing/critical", "firing/critical",
                              "firing/warning", "firing/warning"]),
    ([96, 70], ["firing/critical", "resolved/critical"]),
    ([85, 96, 74], ["firing/warning", "firing/critical", "resolved/critical"]),
    ([79, 74, 79.9], ["none", "none", "none"]),
]


@pytest.mark.parametrize(("values", "expected"), HYSTERESIS)
def test_hysteresis_table(values, expected):
    e = engine_from(rule("c", kind="threshold", metric="cpu.percent", warning=80, critical=95,
                         clear=5))
    got = []
    for i, v in enumerate(values):
        e.on_sample("h1", {"cpu.percent": v}, None, T0 + i)
        al = e.alerts()
        got.append(f"{al[0]['state']}/{al[0]['severity']}" if al else "none")
    assert got == expected


@pytest.mark.parametrize(("op", "values", "states"), [
    ("<", [9, 11, 12.1], ["firing", "firing", "resolved"]),
    ("<=", [10, 12, 12.5], ["firing", "firing", "resolved"]),
    (">=", [10, 8, 7.9], ["firing", "firing", "resolved"]),
])
def test_hysteresis_for_other_ops(op, values, states):
    e = engine_from(rule("m", kind="threshold", metric="mem.available", op=op, warning=10,
                         clear=2))
    got = []
    for i, v in enumerate(values):
        e.on_sample("h1", {"mem.available": v}, None, T0 + i)
        got.append(e.alerts()[0]["state"])
    assert got == states


def test_severity_escalation_and_back_in_one_episode():
    e = engine_from(CPU)
    feed(e, [85] * 31)
    first = only(e, rule="cpu")
    ev = e.on_sample("h1", {"cpu.percent": 97}, None, T0 + 40)
    assert transitions(ev, "severity") == [("warning", "critical")]
    assert ev[0]["severity"] == "critical" and ev[0]["data"]["threshold"] == 95.0
    ev = e.on_sample("h1", {"cpu.percent": 85}, None, T0 + 41)
    assert transitions(ev, "severity") == [("critical", "warning")]
    a = only(e, rule="cpu")
    assert (a["id"], a["started_at"], a["state"]) == (first["id"], first["started_at"], "firing")


def test_keep_firing_for_holds_then_resolves_on_tick():
    e = engine_from(rule("c", kind="threshold", metric="cpu.percent", critical=90,
                         keep_firing_for="20s"))
    e.on_sample("h1", {"cpu.percent": 95}, None, T0)
    assert e.on_sample("h1", {"cpu.percent": 10}, None, T0 + 1) == []
    assert e.tick(T0 + 20) == []
    e.on_sample("h1", {"cpu.percent": 95}, None, T0 + 20.5)  # back: the countdown restarts
    e.on_sample("h1", {"cpu.percent": 10}, None, T0 + 22)
    assert e.tick(T0 + 41) == []
    ev = e.tick(T0 + 42)
    assert transitions(ev) == [("firing", "resolved")]
    assert ev[0]["data"]["alert"]["resolved_at"] == T0 + 42


def test_resolved_alerts_stay_visible_then_leave_and_a_new_episode_keeps_the_id():
    e = engine_from(rule("c", kind="threshold", metric="cpu.percent", critical=90))
    e.on_sample("h1", {"cpu.percent": 95}, None, T0)
    aid = only(e, rule="c")["id"]
    e.on_sample("h1", {"cpu.percent": 5}, None, T0 + 1)
    assert only(e, id=aid)["state"] == "resolved"
    e.tick(T0 + 1 + RESOLVED_KEEP_S - 1)
    assert only(e, id=aid)["state"] == "resolved"
    e.tick(T0 + 1 + RESOLVED_KEEP_S)
    assert e.alerts() == []
    ev = e.on_sample("h1", {"cpu.percent": 95}, None, T0 + 2000)
    assert ev[0]["alert_id"] == aid and transitions(ev) == [("inactive", "firing")]
    assert only(e, id=aid)["started_at"] == T0 + 2000


def test_alert_id_is_a_stable_fingerprint_per_rule_host_and_metric():
    e = engine_from(rule("d", kind="threshold", metric="disk.*.percent", warning=90))
    e.on_sample("h1", {"disk./.percent": 95, "disk./var.percent": 95}, None, T0)
    e.on_sample("h2", {"disk./.percent": 95}, None, T0)
    ids = [a["id"] for a in e.alerts()]
    assert len(set(ids)) == 3 and all(len(i) == 12 for i in ids)
    again = engine_from(rule("d", kind="threshold", metric="disk.*.percent", warning=90))
    again.on_sample("h2", {"disk./.percent": 95}, None, T0 + 9)
    assert again.alerts()[0]["id"] in ids


# ---------------------------------------------------------------- acks


def firing_engine(kind_rule: str = CPU) -> tuple[AlertEngine, str]:
    e = engine_from(kind_rule)
    feed(e, [85] * 31)
    return e, only(e, state="firing")["id"]


def test_ack_and_unack():
    e, aid = firing_engine()
    ev = e.ack(aid, "ann", "on it", False, None, T0 + 40)
    assert [x["kind"] for x in ev] == ["ack"]
    assert ev[0]["data"]["ack"] == {"author": "ann", "comment": "on it", "sticky": False,
                                    "expires": None, "ts": T0 + 40}
    assert only(e, id=aid)["acked"] is True
    ev = e.unack(aid, "bob", T0 + 41)
    assert [x["kind"] for x in ev] == ["unack"] and only(e, id=aid)["acked"] is False
    with pytest.raises(ValueError, match="is not acknowledged"):
        e.unack(aid, "bob", T0 + 42)


@pytest.mark.parametrize(("sticky", "acked_after"), [(False, False), (True, True)])
def test_non_sticky_ack_clears_on_severity_change(sticky, acked_after):
    e, aid = firing_engine()
    e.ack(aid, "ann", "", sticky, None, T0 + 40)
    ev = e.on_sample("h1", {"cpu.percent": 99}, None, T0 + 41)
    assert only(e, id=aid)["acked"] is acked_after
    assert ("unack" in [x["kind"] for x in ev]) is not acked_after
    assert transitions(ev, "severity")[0] == ("warning", "critical")
    assert ev[-1]["data"]["notify"] is not acked_after


def test_ack_expires_on_tick_and_resolve_clears_it():
    e, aid = firing_engine()
    e.ack(aid, "ann", "", True, "1m", T0 + 40)
    assert only(e, id=aid)["ack"]["expires"] == T0 + 100
    assert e.tick(T0 + 99) == []
    ev = e.tick(T0 + 100)
    assert [x["kind"] for x in ev] == ["unack"] and ev[0]["data"]["reason"] == "expired"
    e.ack(aid, "ann", "", True, None, T0 + 101)
    e.on_sample("h1", {"cpu.percent": 1}, None, T0 + 102)
    assert only(e, id=aid)["acked"] is False


def test_ack_errors():
    e, aid = firing_engine()
    with pytest.raises(KeyError) as err:
        e.ack("nope", "ann", "", False, None, T0)
    assert err.value.args[0] == "no alert with id 'nope'"
    with pytest.raises(KeyError, match="no alert with id 'x'"):
        e.unack("x", "ann", T0)
    with pytest.raises(ValueError, match="bad duration"):
        e.ack(aid, "ann", "", False, "soon", T0 + 40)
    e.on_sample("h1", {"cpu.percent": 1}, None, T0 + 50)
    with pytest.raises(ValueError, match="is resolved"):
        e.ack(aid, "ann", "", False, None, T0 + 51)


# ---------------------------------------------------------------- inhibition, staleness


def test_host_down_inhibits_the_hosts_other_alerts_and_resolves_on_data():
    e = engine_from(CPU + rule("down", kind="host_down", for_="30s"))
    feed(e, [85] * 31)
    e.on_sample("h2", {"cpu.percent": 1}, None, T0 + 45)
    ev = e.tick(T0 + 60)
    assert transitions(ev) == [("inactive", "firing")] and ev[0]["rule"] == "down"
    assert ev[0]["data"]["value"] == pytest.approx(30.0) and ev[0]["host"] == "h1"
    assert only(e, rule="cpu")["inhibited"] is True
    e.on_sample("h2", {"cpu.percent": 1}, None, T0 + 61)
    ev = e.on_sample("h1", {"cpu.percent": 10}, None, T0 + 62)
    assert sorted(transitions(ev)) == [("firing", "resolved"), ("firing", "resolved")]
    down = [x for x in ev if x["rule"] == "down"][0]
    cpu = [x for x in ev if x["rule"] == "cpu"][0]
    assert down["data"]["notify"] is True
    assert cpu["data"]["alert"]["inhibited"] is False  # the host is back up first


def test_inhibited_transition_does_not_notify():
    e = engine_from(rule("c", kind="threshold", metric="cpu.percent", critical=90, for_="10s")
                    + rule("down", kind="host_down", for_="5s"))
    e.on_sample("h1", {"cpu.percent": 95}, None, T0)
    e.tick(T0 + 5)  # down fires: no frame for 5 s
    ev = e.tick(T0 + 10)  # the pending cpu alert fires while its host is down
    assert transitions(ev) == [("pending", "firing")]
    assert ev[0]["data"]["alert"]["inhibited"] is True and ev[0]["data"]["notify"] is False


def test_a_series_that_stops_reporting_resolves_as_stale():
    e = engine_from(rule("c", kind="threshold", metric="cpu.percent", critical=90))
    e.on_sample("h1", {"cpu.percent": 95}, None, T0)
    assert e.tick(T0 + STALE_AFTER_S - 1) == []
    ev = e.tick(T0 + STALE_AFTER_S)
    assert transitions(ev) == [("firing", "resolved")]
    assert ev[0]["data"]["reason"] == "stale: no samples"


def test_per_core_divides_by_the_latest_cpu_count_and_waits_for_it():
    e = engine_from(rule("load", kind="threshold", metric="load.1", per_core=True, warning=2))
    assert e.on_sample("h1", {"load.1": 9.0}, None, T0) == []  # cpu.count unknown yet
    assert e.on_sample("h1", {"load.1": 9.0, "cpu.count": 8}, None, T0 + 1) == []
    ev = e.on_sample("h1", {"load.1": 9.0, "cpu.count": 4}, None, T0 + 2)
    assert ev[0]["data"]["value"] == 2.25


@pytest.mark.parametrize(("hosts", "exclude", "fired"), [
    (["web-*"], [], ["web-1", "web-2"]),
    ([], ["web-2"], ["db-1", "web-1"]),
    (["web-*"], ["*-2"], ["web-1"]),
])
def test_host_include_exclude_globs(hosts, exclude, fired):
    e = engine_from(rule("c", kind="threshold", metric="cpu.percent", critical=90)
                    + f"hosts = {hosts!r}\nexclude_hosts = {exclude!r}\n")
    for h in ("web-1", "web-2", "db-1"):
        e.on_sample(h, {"cpu.percent": 99}, None, T0)
    assert sorted(a["host"] for a in e.alerts()) == fired


# ---------------------------------------------------------------- reload and persistence


def test_replace_rules_keeps_alerts_and_resolves_those_of_removed_rules():
    e = engine_from(CPU + rule("mem", kind="threshold", metric="mem.percent", critical=90))
    for i in range(31):
        e.on_sample("h1", {"cpu.percent": 85, "mem.percent": 95}, None, T0 + i)
    cpu_id = only(e, rule="cpu")["id"]
    ev = e.replace_rules(engine_from(CPU).rules, now=T0 + 40)
    assert transitions(ev) == [("firing", "resolved")] and ev[0]["rule"] == "mem"
    assert [a["rule"] for a in e.alerts()] == ["cpu"]
    e.on_sample("h1", {"cpu.percent": 77}, None, T0 + 41)  # hysteresis state survived
    assert only(e, id=cpu_id)["state"] == "firing"


def test_dump_and_restore_round_trip_through_msgpack():
    e, aid = firing_engine(CPU + rule("down", kind="host_down", for_="30s"))
    e.ack(aid, "ann", "looking", True, "1h", T0 + 40)
    sil, _ = e.silence(["host=h1"], "2h", "ann", "maint", T0 + 40)
    state = msgpack.unpackb(msgpack.packb(e.dump_state()))
    e2 = engine_from(CPU + rule("down", kind="host_down", for_="30s"))
    e2.restore_state(state)
    a = only(e2, id=aid)
    assert (a["state"], a["acked"], a["ack"]["comment"], a["silenced"]) == (
        "firing", True, "looking", [sil["id"]])
    assert e2.silences() == e.silences()
    # a host silent across the restart is judged by its last-seen time, once the restart
    # hold (time for agents to reconnect) is over
    assert e2.tick(T0 + 1000) == [] and e2.tick(T0 + 1000 + RESTART_HOLD_S - 1) == []
    assert transitions(e2.tick(T0 + 1000 + RESTART_HOLD_S)) == [("inactive", "firing")]
    # the restored alert is linked to its series: a low value resolves it
    ev = e2.on_sample("h1", {"cpu.percent": 1}, None, T0 + 1031)
    assert ("firing", "resolved") in transitions(ev)
    with pytest.raises(ValueError, match="version"):
        e2.restore_state({"version": 99})
