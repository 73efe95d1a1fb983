"""Silences: matcher grammar, matching, effect on alerts and notifications, expiry."""

from __future__ import annotations

import pytest

from broker.alerting.silences import Matcher, make_silence
from tests.unit.engine_helpers import T0, engine_from, only, rule, transitions

LABELS = {"host": "web-1", "rule": "high_cpu_usage", "alertname": "high_cpu_usage",
          "severity": "critical", "team": "ops"}


@pytest.mark.parametrize(("spec", "matches"), [
    ("host=web-1", True), ("host = web-1", True), ('host="web-1"', True), ("host=web-2", False),
    ("host!=web-2", True), ("host!=web-1", False),
    ("rule=~high_.*", True), ("rule=~high", False),  # regexes are anchored
    ("severity!~warn.*", True), ("severity!~crit.*", False),
    ("alertname=high_cpu_usage", True), ("team=ops", True), ("missing=", True),
    ("missing=x", False), ("missing!~.+", True),
])
def test_matcher_table(spec, matches):
    assert Matcher.parse(spec).matches(LABELS) is matches


@pytest.mark.parametrize(("spec", "error"), [
    ("host", "bad matcher 'host'"), ("=x", "bad matcher '=x'"), ("rule=~(", "bad regex"),
    (42, "must be a string"), ({"name": "host"}, "lacks 'op'"),
])
def test_bad_matchers(spec, error):
    with pytest.raises(ValueError, match=error):
        Matcher.parse(spec)


def test_matcher_from_dict_and_back_to_text():
    m = Matcher.parse({"name": "host", "op": "=~", "value": "web-.*"})
    assert str(m) == "host=~web-.*" and m.matches({"host": "web-9"})


@pytest.mark.parametrize(("matchers", "duration", "error"), [
    ([], "1h", "at least one matcher"),
    (["host=~.*"], "1h", "does not match everything"),
    (["host!=x"], "1h", "does not match everything"),
    (["host=a"], "0s", "above zero"),
    (["host=a"], "forever", "bad duration"),
])
def test_bad_silences(matchers, duration, error):
    with pytest.raises(ValueError, match=error):
        make_silence(matchers, duration, "ann", "", T0)


CPU = rule("high_cpu_usage", kind="threshold", metric="cpu.percent", warning=80, critical=95)


def test_a_silenced_alert_is_visible_marked_and_does_not_notify():
    e = engine_from(CPU)
    sil, ev = e.silence(["host=web-1", "severity=critical"], "2h", "ann", "maint", T0)
    assert ev[0]["kind"] == "silence" and ev[0]["data"]["silence"]["id"] == sil["id"]
    assert (sil["starts_at"], sil["ends_at"], sil["author"], sil["comment"], sil["state"]) == (
        T0, T0 + 7200, "ann", "maint", "active")
    ev = e.on_sample("web-1", {"cpu.percent": 99}, None, T0 + 1)
    assert ev[0]["data"]["alert"]["silenced"] == [sil["id"]]
    assert ev[0]["data"]["notify"] is False
    ev = e.on_sample("web-2", {"cpu.percent": 99}, None, T0 + 1)
    assert ev[0]["data"]["notify"] is True and ev[0]["data"]["alert"]["silenced"] == []
    # a warning on web-1 does not match severity=critical
    ev = e.on_sample("web-1", {"cpu.percent": 85}, None, T0 + 2)
    assert transitions(ev, "severity") == [("critical", "warning")]
    assert ev[0]["data"]["alert"]["silenced"] == [] and ev[0]["data"]["notify"] is True


def test_silence_event_lists_the_alerts_it_mutes_and_unsilence_lifts_it():
    e = engine_from(CPU)
    e.on_sample("web-1", {"cpu.percent": 99}, None, T0)
    aid = only(e, host="web-1")["id"]
    sil, ev = e.silence("rule=~high_.*", 3600, "ann", "", T0 + 1)
    assert ev[0]["data"]["alerts"] == [aid]
    assert only(e, id=aid)["silenced"] == [sil["id"]]
    assert [s["id"] for s in e.silences()] == [sil["id"]]
    ev = e.unsilence(sil["id"], "bob", T0 + 2)
    assert ev[0]["kind"] == "unsilence" and ev[0]["data"]["author"] == "bob"
    assert only(e, id=aid)["silenced"] == [] and e.silences() == []
    with pytest.raises(KeyError, match="no silence with id 'nope'"):
        e.unsilence("nope", "bob", T0 + 3)


def test_silences_expire_on_tick_and_future_silences_wait():
    e = engine_from(CPU)
    sil, _ = e.silence(["host=web-1"], "10m", "ann", "", T0)
    later, _ = e.silence(["host=web-1"], "10m", "ann", "", T0, start=T0 + 3600)
    assert later["starts_at"] == T0 + 3600
    e.on_sample("web-1", {"cpu.percent": 99}, None, T0 + 1)
    assert only(e, host="web-1")["silenced"] == [sil["id"]]
    assert e.tick(T0 + 599) == []
    ev = e.tick(T0 + 600)
    assert [x["kind"] for x in ev] == ["unsilence"] and ev[0]["data"]["reason"] == "expired"
    assert only(e, host="web-1")["silenced"] == []
    e.on_sample("web-1", {"cpu.percent": 99}, None, T0 + 3600)
    assert only(e, host="web-1")["silenced"] == [later["id"]]


def test_simulated_alerts_can_be_silenced_by_label():
    e = engine_from(CPU)
    e.silence(["simulated=true"], "1h", "ann", "", T0)
    ev = e.simulate("high_cpu_usage", "web-1", T0 + 1)
    fired = [x for x in ev if x["kind"] == "alert"][0]
    assert fired["data"]["alert"]["silenced"] and fired["data"]["notify"] is False


def test_frame_labels_show_on_alerts_and_silences_match_them():
    e = engine_from(CPU)
    sil, _ = e.silence(["env=staging"], "1h", "ann", "", T0)
    e.on_sample("web-1", {"cpu.percent": 99}, {"env": "staging"}, T0 + 1)
    e.on_sample("web-2", {"cpu.percent": 99}, {"env": "prod"}, T0 + 1)
    staging, prod = only(e, host="web-1"), only(e, host="web-2")
    assert staging["labels"] == {"env": "staging"} and staging["silenced"] == [sil["id"]]
    assert prod["labels"] == {"env": "prod"} and prod["silenced"] == []
    assert staging["id"] != prod["id"]
    e2 = engine_from(CPU)
    e2.restore_state(e.dump_state())
    assert only(e2, host="web-1")["labels"] == {"env": "staging"}
