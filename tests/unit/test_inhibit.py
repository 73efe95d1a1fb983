"""Inhibition rules ([[inhibit]]: source, target, equal) and the absent/host_down order."""

from __future__ import annotations

import tomllib

import pytest

from broker.alerting.engine import AlertEngine
from broker.alerting.inhibit import default_inhibits, parse_inhibits
from broker.alerting.rules import parse_rules
from core.config import ConfigError
from tests.unit.engine_helpers import T0, only, rule, transitions

CPU = rule("cpu", kind="threshold", metric="cpu.percent", warning=80, critical=95)
DISK = rule("disk", kind="threshold", metric="disk.percent", warning=80)
CRIT_MUTES_WARN = """
[[inhibit]]
name = "critical_mutes_warning"
source = ["severity=critical"]
target = ["severity=warning"]
equal = ["host"]
"""


def engine(text: str, inhibit_text: str | None) -> AlertEngine:
    rules = parse_rules(tomllib.loads(text)["rule"], "test.toml")
    if inhibit_text is None:
        return AlertEngine(rules)
    return AlertEngine(rules, parse_inhibits(tomllib.loads(inhibit_text).get("inhibit", []),
                                             "test.toml"))


def test_a_firing_source_inhibits_matching_targets_with_equal_labels():
    e = engine(CPU + DISK, CRIT_MUTES_WARN)
    e.on_sample("h1", {"cpu.percent": 99, "disk.percent": 90}, None, T0)
    e.on_sample("h2", {"cpu.percent": 10, "disk.percent": 90}, None, T0)
    assert only(e, rule="disk", host="h1")["inhibited"] is True
    assert only(e, rule="disk", host="h2")["inhibited"] is False  # equal: host differs
    assert only(e, rule="cpu", host="h1")["inhibited"] is False  # a source never mutes itself
    ev = e.on_sample("h1", {"cpu.percent": 50, "disk.percent": 90}, None, T0 + 1)
    assert transitions(ev) == [("firing", "resolved")]
    assert only(e, rule="disk", host="h1")["inhibited"] is False


def test_an_inhibited_transition_does_not_notify_and_a_label_both_lack_counts_as_equal():
    e = engine(CPU + DISK, CRIT_MUTES_WARN.replace('["host"]', '["team"]'))
    e.on_sample("h1", {"cpu.percent": 99}, None, T0)
    ev = e.on_sample("h2", {"disk.percent": 90}, None, T0 + 1)  # neither has 'team'
    assert ev[0]["data"]["alert"]["inhibited"] is True and ev[0]["data"]["notify"] is False


def test_severity_change_of_a_source_is_seen_at_once():
    e = engine(CPU + DISK, CRIT_MUTES_WARN)
    e.on_sample("h1", {"cpu.percent": 85, "disk.percent": 90}, None, T0)
    assert only(e, rule="disk")["inhibited"] is False  # cpu is only a warning
    e.on_sample("h1", {"cpu.percent": 99, "disk.percent": 90}, None, T0 + 1)
    assert only(e, rule="disk")["inhibited"] is True


def test_host_down_inhibition_is_the_default_and_an_empty_list_turns_it_off():
    assert [r.name for r in default_inhibits()] == ["host_down_mutes_its_host"]
    down = rule("down", kind="host_down", for_="5s")
    for inhibit_text, expected in ((None, True), ("inhibit = []", False)):
        e = engine(CPU + down, inhibit_text)
        e.on_sample("h1", {"cpu.percent": 99}, None, T0)
        e.tick(T0 + 6)
        assert only(e, rule="cpu")["inhibited"] is expected


@pytest.mark.parametrize(("text", "expected"), [
    ('[[inhibit]]\ntarget = ["a=b"]', "test.toml: inhibit #1 key 'source': expected a list"),
    ('[[inhibit]]\nname = "x"\nsource = ["a=b"]\ntarget = ["a=~("]',
     "test.toml: inhibit 'x' key 'target': bad regex"),
    ('[[inhibit]]\nsource = ["a"]\ntarget = ["a=b"]', "inhibit #1 key 'source': bad matcher"),
    ('[[inhibit]]\nsource = ["a=b"]\ntarget = ["a=b"]\nequal = "host"', "key 'equal': expected"),
    ('[[inhibit]]\nsource = ["a=b"]\ntarget = ["a=b"]\nwhen = 1', "unknown key 'when'"),
])
def test_bad_inhibit_rules_name_file_rule_and_key(text, expected):
    with pytest.raises(ConfigError) as err:
        parse_inhibits(tomllib.loads(text)["inhibit"], "test.toml")
    assert expected in str(err.value), str(err.value)


ABSENT = rule("gone", kind="absent", metric="app.beat", for_="10s")
DOWN = rule("down", kind="host_down", for_="30s")


def test_absent_waits_for_host_down_when_the_whole_host_is_silent():
    e = engine(ABSENT + DOWN, None)
    e.on_sample("h1", {"app.beat": 1}, None, T0)
    for t in range(1, 30):
        assert e.tick(T0 + t) == [], t  # absent's 10 s passed, host_down's 30 s not yet
    ev = e.tick(T0 + 30)
    assert [(x["rule"], x["data"]["to"]) for x in ev] == [("down", "firing"), ("gone", "firing")]
    gone = [x for x in ev if x["rule"] == "gone"][0]
    assert gone["data"]["notify"] is False and gone["data"]["alert"]["inhibited"] is True


def test_absent_fires_on_its_own_time_when_only_the_metric_is_missing():
    e = engine(ABSENT + DOWN, None)
    e.on_sample("h1", {"app.beat": 1, "cpu.percent": 5}, None, T0)
    e.on_sample("h1", {"cpu.percent": 5}, None, T0 + 5)
    ev = e.tick(T0 + 10)
    assert [(x["rule"], x["data"]["to"], x["data"]["notify"]) for x in ev] == [
        ("gone", "firing", True)]


def test_a_resolved_host_down_says_how_long_the_host_was_silent_not_0s():
    e = engine(DOWN, None)
    e.on_sample("h1", {"cpu.percent": 1}, None, T0)
    e.tick(T0 + 30)
    e.tick(T0 + 42)
    ev = e.on_sample("h1", {"cpu.percent": 1}, None, T0 + 43)
    assert transitions(ev) == [("firing", "resolved")]
    assert ev[0]["data"]["alert"]["summary"] == "h1 sent nothing for 42s"


@pytest.mark.parametrize("seed", range(4))
def test_the_source_index_agrees_with_inhibited_by(seed):
    import random

    from broker.alerting.inhibit import inhibited_by
    from broker.alerting.inhibit_index import SourceIndex

    rng = random.Random(seed)
    rules = parse_inhibits(tomllib.loads(CRIT_MUTES_WARN + """
[[inhibit]]
name = "down_mutes_host"
source = ["kind=host_down"]
target = ["kind!=host_down"]
equal = ["host"]

[[inhibit]]
name = "zone_outage"
source = ["alertname=zone_down"]
target = ["severity=~warning|critical"]
equal = ["zone", "team"]
""")["inhibit"], "test.toml")

    def labels():
        d = {"host": f"h{rng.randrange(4)}", "severity": rng.choice(["warning", "critical"]),
             "kind": rng.choice(["host_down", "threshold"]),
             "alertname": rng.choice(["zone_down", "cpu"])}
        for k in ("zone", "team"):
            if rng.random() < 0.7:
                d[k] = rng.choice(["a", "b"])
        return d
    firing: dict[str, dict[str, str]] = {}
    index = SourceIndex(rules)
    for step in range(300):
        aid = f"a{rng.randrange(30)}"
        if rng.random() < 0.35:
            firing.pop(aid, None)
            index.remove(aid)
        else:
            firing[aid] = labels()
            index.add(aid, firing[aid])
        target, tid = labels(), rng.choice([f"a{rng.randrange(30)}", "new"])
        want = inhibited_by(rules, target, tid, list(firing.items()))
        assert index.inhibited_by(target, tid) == want, (step, target, tid)
        # every (rule, source) the incident view names, and the first rule is the one above
        named = index.inhibitors(target, tid)
        assert (named[0][0] if named else None) == want, (step, target, tid)
        for name, sid in named:
            assert sid != tid and inhibited_by(
                [r for r in rules if r.name == name], target, tid, [(sid, firing[sid])]) == name


def test_a_fleet_going_down_at_once_is_inhibited_host_by_host():
    e = AlertEngine(parse_rules(tomllib.loads(rule("down", kind="host_down", for_="10s")
                                              + CPU)["rule"], "test.toml"))
    hosts = [f"h{i}" for i in range(300)]
    for h in hosts:
        e.on_sample(h, {"cpu.percent": 99}, None, T0)
    e.tick(T0 + 60)  # every host silent: 300 host_down in one tick
    down = [a for a in e.alerts() if a["rule"] == "down"]
    cpu = [a for a in e.alerts() if a["rule"] == "cpu"]
    assert len(down) == 300 and all(a["state"] == "firing" for a in down)
    assert len(cpu) == 300 and all(a["inhibited"] for a in cpu)
    e.on_sample("h7", {"cpu.percent": 99}, None, T0 + 61)  # h7 is back: its cpu alert pages
    assert {a["host"] for a in e.alerts() if a["rule"] == "cpu" and not a["inhibited"]} == {"h7"}
