"""The ``check`` rule kind: a Nagios check's state drives the alert's severity."""

from __future__ import annotations

import pytest

from core.config import ConfigError
from tests.unit.engine_helpers import T0, engine_from, rule


def test_check_state_maps_to_severity_and_ok_resolves() -> None:
    e = engine_from(rule("c", kind="check", check="disk_*", unknown="critical"))
    e.on_sample("h", {"check.disk_root.state": 1.0, "check.http.state": 2.0}, None, T0)
    [a] = [a for a in e.alerts() if a["state"] == "firing"]
    assert (a["metric"], a["severity"]) == ("check.disk_root.state", "warning")
    e.on_sample("h", {"check.disk_root.state": 3.0}, None, T0 + 1)
    assert e.alerts()[0]["severity"] == "critical"  # UNKNOWN -> the rule's 'unknown'
    e.on_sample("h", {"check.disk_root.state": 0.0}, None, T0 + 2)
    assert e.alerts()[0]["state"] == "resolved"
    assert "check.disk_root.state on h" in e.alerts()[0]["summary"]


@pytest.mark.parametrize(("keys", "why"), [
    ({}, "key 'check'"), ({"check": "a b"}, "key 'check'"),
    ({"check": "x", "unknown": "loud"}, "key 'unknown'"),
    ({"check": "x", "metric": "y"}, "unknown key 'metric'"),
])
def test_bad_check_rules_are_refused(keys: dict, why: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=why):
        engine_from(rule("c", kind="check", **keys))
