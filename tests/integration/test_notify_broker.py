"""Notifications end to end: a real broker process, its config, a loopback webhook."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.notify_servers import Recorder
from tests.procs import Broker, command, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def hook(tmp_path: Path) -> Iterator[Recorder]:
    """The webhook receiver; at each request it looks in the broker's event log for the
    alert being notified, to check "committed before notified"."""
    def in_log(req: dict[str, Any]) -> None:
        body = json.loads(req["body"])
        hosts = [a["labels"].get("host") for a in body.get("alerts", [])]
        conn = sqlite3.connect(f"file:{tmp_path / 'data' / 'events.db'}?mode=ro", uri=True)
        try:
            req["logged"] = [conn.execute("SELECT count(*) FROM events WHERE kind = 'alert' "
                                          "AND host = ?", (h,)).fetchone()[0] for h in hosts]
        finally:
            conn.close()
    rec = Recorder(on_request=in_log)
    yield rec
    rec.close()


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "broker.toml"
    path.write_text(f'''
[[receiver]]
name = "hook"
type = "webhook"
url = "{url}"

[[route]]
receiver = "hook"
match = {{ severity = "critical" }}
group_wait = "0s"
''')
    return path


def test_simulated_alert_reaches_the_webhook_and_is_listed(tmp_path: Path,
                                                           hook: Recorder) -> None:
    broker = Broker(tmp_path / "data", "--config", str(config(tmp_path, hook.url)))
    try:
        out = broker.ctl_json("simulate", "high_cpu_usage", "--host", "web-9")
        assert out["alert_ids"]
        req = hook.wait_for(1)[0]
        assert req["logged"] and all(n >= 1 for n in req["logged"])  # committed first
        body = json.loads(req["body"])
        assert body["version"] == "4" and body["status"] == "firing"
        assert body["receiver"] == "hook"
        labels = body["alerts"][0]["labels"]
        assert labels["host"] == "web-9" and labels["simulated"] == "true"
        assert body["alerts"][0]["fingerprint"]
        sent = wait_for(lambda: [n for n in broker.ctl_json("notifications")
                                 if n["status"] == "delivered"], timeout=5, what="delivered")
        assert sent[0]["receiver"] == "hook"
        events = wait_for(lambda: broker.ctl_json("search", "kind:notify.sent"), timeout=5,
                          what="notify.sent event in the log")
        assert events[0]["kind"] == "notify.sent"
        # a test notification is one command away
        out = broker.ctl_json("test-notify", "hook")
        assert out["id"]
        hook.wait_for(2)
        bad = broker.ctl("test-notify", "nobody")
        assert bad.returncode == 1 and "nobody" in bad.stderr
    finally:
        broker.stop()


def test_bad_receiver_config_refuses_to_start_naming_receiver_and_key(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "broker.toml"
    path.write_text('[[receiver]]\nname = "pager"\ntype = "webhook"\nurl = "not a url"\n')
    out = subprocess.run([*command("monitor-broker"), "--config", str(path), "--data-dir",
                          str(tmp_path / "d"), "--port", "1"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode != 0
    assert "pager" in out.stderr and "url" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_example_deploy_config_is_valid(tmp_path: Path) -> None:
    from broker.alerting.rules import parse_rules
    from broker.config import TOP_KEYS
    from broker.notify import parse_notify_config
    from core.config import check_keys, load_toml

    path = Path(__file__).parents[2] / "deploy" / "broker.toml"
    cfg = load_toml(path)
    check_keys(cfg, TOP_KEYS, str(path))
    assert parse_rules(cfg["rule"], str(path))[0].name == "nginx_errors"
    assert "ops-mail" in parse_notify_config(cfg, str(path)).receivers
