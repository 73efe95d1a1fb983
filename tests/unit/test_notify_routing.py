"""Matchers, time windows and Alertmanager group timing, on a fake clock (no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from broker.notify.groups import Grouper
from broker.notify.routing import Matcher, Route, TimeWindow, route_alert

T0 = datetime(2024, 1, 1, 12, 0).timestamp()  # a Monday, noon local time


def alert(id_: str = "a1", state: str = "firing", **kw: Any) -> dict[str, Any]:
    a = {"id": id_, "rule": kw.pop("rule", "high_cpu"), "host": kw.pop("host", "web-1"),
         "labels": kw.pop("labels", {}), "severity": kw.pop("severity", "critical"),
         "state": state, "acked": False, "silenced": [], "inhibited": False, "flapping": False,
         "value": 97.0, "started_at": T0}
    a.update(kw)
    return a


def route(**kw: Any) -> Route:
    kw.setdefault("receivers", ["hook"])
    return Route(index=1, **kw)


@pytest.mark.parametrize(("text", "labels", "hit"), [
    ('severity="critical"', {"severity": "critical"}, True),
    ("severity=critical", {"severity": "warning"}, False),
    ('host!="web-1"', {"host": "web-2"}, True),
    ('host=~"web-.*"', {"host": "web-12"}, True),
    ('host=~"web"', {"host": "web-12"}, False),  # anchored
    ("host!~'db-.*'", {"host": "db-1"}, False),
    ('team="ops"', {}, False),
    ('team=""', {}, True),
])
def test_matchers(text: str, labels: dict[str, str], hit: bool) -> None:
    assert Matcher.parse(text).matches(labels) is hit


def test_routes_first_match_and_continue() -> None:
    a = route(receivers=["a"], matchers=[Matcher.parse("severity=critical")])
    b = route(receivers=["b"], matchers=[Matcher.parse("host=~web-.*")], cont=True)
    c = route(receivers=["c"])
    assert route_alert([a, c], {"severity": "critical"}) == [a]
    assert route_alert([b, c], {"host": "web-1"}) == [b, c]
    assert route_alert([a], {"severity": "warning"}) == []


def test_time_window_wraps_midnight() -> None:
    w = TimeWindow.parse({"days": ["mon"], "start": "22:00", "end": "06:00"})
    at = lambda d, h: datetime(2024, 1, d, h, 30).timestamp()  # noqa: E731 - Jan 1 = Monday
    assert w.contains(at(1, 23)) and w.contains(at(2, 5))
    assert not w.contains(at(1, 21)) and not w.contains(at(2, 7)) and not w.contains(at(2, 23))


def test_group_wait_zero_sends_at_once() -> None:
    g = Grouper([route(group_wait=0)])
    (n,) = g.update(alert(), T0)
    assert n.status == "firing" and n.receiver == "hook" and [a["id"] for a in n.alerts] == ["a1"]
    assert n.group_key == 'route1:{alertname="high_cpu",host="web-1"}'


def test_group_wait_batches_then_interval_then_repeat() -> None:
    g = Grouper([route(group_by=["alertname"], group_wait=30, group_interval=300,
                       repeat_interval=3600)])
    assert g.update(alert("a1", host="web-1"), T0) == []
    assert g.update(alert("a2", host="web-2"), T0 + 10) == []
    assert g.tick(T0 + 29) == []
    (n,) = g.tick(T0 + 30)
    assert sorted(a["id"] for a in n.alerts) == ["a1", "a2"]
    # a new alert in the group waits for group_interval, then all firing are sent
    assert g.update(alert("a3", host="web-3"), T0 + 40) == []
    assert g.tick(T0 + 329) == []
    (n,) = g.tick(T0 + 330)
    assert len(n.alerts) == 3
    # nothing new: silence until repeat_interval has passed since the last message
    for k in range(2, 12):
        assert g.tick(T0 + 30 + 300 * k) == [], k
    (n,) = g.tick(T0 + 30 + 300 * 13)  # first flush >= 3600 s after T0+330
    assert n.status == "firing" and len(n.alerts) == 3


def test_resolved_is_sent_once_then_group_ends() -> None:
    g = Grouper([route(group_wait=0, group_interval=60)])
    g.update(alert(), T0)
    assert g.update(alert(state="resolved", resolved_at=T0 + 5), T0 + 5) == []
    (n,) = g.tick(T0 + 60)
    assert n.status == "resolved" and n.alerts[0]["state"] == "resolved"
    assert g.groups == {} and g.tick(T0 + 120) == []


def test_send_resolved_false() -> None:
    g = Grouper([route(group_wait=0, group_interval=60, send_resolved=False)])
    g.update(alert(), T0)
    g.update(alert(state="resolved"), T0 + 5)
    assert g.tick(T0 + 60) == [] and g.groups == {}


def test_resolved_before_group_wait_notifies_nobody() -> None:
    g = Grouper([route(group_wait=30)])
    g.update(alert(), T0)
    g.update(alert(state="resolved"), T0 + 5)
    assert g.tick(T0 + 30) == []


@pytest.mark.parametrize("attr", [{"silenced": ["s1"]}, {"inhibited": True},
                                  {"flapping": True}, {"acked": True}])
def test_suppressed_alerts_notify_nobody(attr: dict[str, Any]) -> None:
    g = Grouper([route(group_wait=0, escalate_after=60, escalate_to="boss")])
    assert g.update(alert(**attr), T0) == []
    assert g.tick(T0 + 3600 * 5) == []


def test_ack_stops_repeats_and_escalation_but_resolution_is_sent() -> None:
    g = Grouper([route(group_wait=0, group_interval=60, repeat_interval=120,
                       escalate_after=900, escalate_to="boss")])
    assert len(g.update(alert(), T0)) == 1
    g.set_attr("a1", T0 + 10, acked=True)
    for t in range(60, 2000, 60):
        assert g.tick(T0 + t) == [], t
    g.update(alert(state="resolved", acked=True), T0 + 2000)
    (n,) = g.tick(T0 + 2040)
    assert n.status == "resolved" and n.receiver == "hook"


def test_escalation_when_unacked() -> None:
    g = Grouper([route(group_wait=0, group_interval=60, repeat_interval=10**6,
                       escalate_after=900, escalate_to="boss")])
    g.update(alert(), T0)
    assert g.tick(T0 + 899) == []
    (n,) = g.tick(T0 + 900)
    assert (n.receiver, n.kind, n.status) == ("boss", "escalation", "firing")
    assert g.tick(T0 + 1800) == []  # once per firing episode
    g.update(alert(state="resolved"), T0 + 1900)
    notes = g.tick(T0 + 1920)
    assert sorted((n.receiver, n.status) for n in notes) == [("boss", "resolved"),
                                                             ("hook", "resolved")]


def test_quiet_hours_defer_until_window_opens() -> None:
    quiet = TimeWindow.parse({"start": "08:00", "end": "20:00"})
    g = Grouper([route(group_wait=0, group_interval=300, active_time=[quiet])])
    night = datetime(2024, 1, 1, 7, 0).timestamp()
    assert g.update(alert(), night) == []
    t = night
    while t < night + 3600 - 300:
        t += 300
        assert g.tick(t) == [], datetime.fromtimestamp(t)
    (n,) = g.tick(night + 3600)  # 08:00
    assert n.status == "firing"


def test_mute_time_window() -> None:
    lunch = TimeWindow.parse({"days": ["mon"], "start": "12:00", "end": "13:00"})
    g = Grouper([route(group_wait=0, group_interval=600, mute_time=[lunch])])
    assert g.update(alert(), T0) == []
    assert g.tick(T0 + 3000) == []
    assert len(g.tick(T0 + 3600)) == 1


def test_group_by_all_labels_and_simulated_label() -> None:
    g = Grouper([route(group_wait=0, group_by=["..."],
                       matchers=[Matcher.parse('simulated="true"')])])
    assert g.update(alert(), T0) == []
    (n,) = g.update(alert("s1", simulated=True), T0)
    assert n.simulated and n.group_labels["simulated"] == "true"


def test_severity_change_moves_alert_without_stale_repeats() -> None:
    warn = route(receivers=["mail"], matchers=[Matcher.parse("severity=warning")],
                 group_wait=0, group_interval=60, repeat_interval=120)
    crit = route(receivers=["pager"], matchers=[Matcher.parse("severity=critical")],
                 group_wait=0, group_interval=60, repeat_interval=120)
    g = Grouper([warn, crit])
    assert [n.receiver for n in g.update(alert(severity="warning"), T0)] == ["mail"]
    assert [n.receiver for n in g.update(alert(severity="critical"), T0 + 10)] == ["pager"]
    g.update(alert(severity="critical", state="resolved"), T0 + 20)
    assert [(n.receiver, n.status) for n in g.tick(T0 + 70)] == [("pager", "resolved")]
    assert g.groups == {} and g.tick(T0 + 1000) == []
