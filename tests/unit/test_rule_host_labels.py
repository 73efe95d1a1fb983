"""Rules select hosts by label: ``hosts = ["team=db"]`` next to name globs."""

from __future__ import annotations

import pytest

from broker.alerting.engine import AlertEngine
from core.config import ConfigError
from tests.unit.engine_helpers import T0, engine_from, rule


def _fired(engine: AlertEngine, host: str, labels: dict[str, str] | None, t: float) -> bool:
    engine.on_sample(host, {"x": 10.0}, labels, t)
    return any(a["host"] == host and a["state"] == "firing" for a in engine.alerts())


def test_label_matcher_in_hosts_selects_hosts_by_label() -> None:
    e = engine_from(rule("r", kind="threshold", metric="x", critical=5.0,
                         hosts=["db-*", "team=~'db|data'"], exclude_hosts=["env=test"]))
    assert _fired(e, "db-1", {"team": "db", "env": "prod"}, T0)
    assert not _fired(e, "db-2", {"team": "web"}, T0)  # glob matches, label does not
    assert not _fired(e, "web-1", {"team": "db"}, T0)  # label matches, glob does not
    assert not _fired(e, "db-3", {"team": "db", "env": "test"}, T0)  # excluded by label
    assert not _fired(e, "db-4", None, T0)  # no labels: the matcher sees ""


def test_a_host_whose_labels_change_is_re_routed() -> None:
    e = engine_from(rule("r", kind="threshold", metric="x", critical=5.0, hosts=["team=db"]))
    assert not _fired(e, "h", {"team": "web"}, T0)
    assert _fired(e, "h", {"team": "db"}, T0 + 1)


def test_bad_label_matcher_in_hosts_is_refused() -> None:
    with pytest.raises(ConfigError, match="rule 'r' key 'hosts': bad regex"):
        engine_from(rule("r", kind="threshold", metric="x", critical=5.0, hosts=["team=~("]))
