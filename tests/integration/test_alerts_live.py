"""Alerts over real sockets: a real monitor-broker process, frames from a real PUB socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from core import protocol
from tests.procs import Broker, wait_for

pytestmark = pytest.mark.integration

RULES = '''
[[rule]]
name = "cpu_spike"
kind = "threshold"
metric = "cpu.percent"
op = ">"
warning = 80
critical = 95
clear = 5
for = "0s"
summary = "CPU on {host} at {value:.0f}%"
'''


class Feeder:
    """Publishes metrics frames for one host the way an agent does."""

    def __init__(self, ingest: str, host: str) -> None:
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.connect(ingest)
        self.host = host
        self.seq = 0

    def send(self, **metrics: float) -> None:
        protocol.send_frame(self.pub, protocol.metrics_frame(self.host, "feeder", "boot",
                                                             self.seq, time.time(), metrics))
        self.seq += 1

    def close(self) -> None:
        self.pub.close()
        self.ctx.term()


@pytest.fixture
def alert_broker(tmp_path: Path) -> Iterator[Broker]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    b = Broker(tmp_path / "data", "--rules", str(rules))
    b.rules_path = rules  # type: ignore[attr-defined]
    yield b
    b.stop()


def alerts_for(broker: Broker, host: str, **want: Any) -> list[dict[str, Any]]:
    return [a for a in broker.ctl_json("alerts") if a["host"] == host
            and all(a.get(k) == v for k, v in want.items())]


def test_cpu_spike_fires_and_resolves_over_real_sockets(alert_broker: Broker) -> None:
    feeder = Feeder(alert_broker.endpoints["ingest"], "spiky")
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"a.")
    sub.connect(alert_broker.endpoints["publish"])
    try:
        firing = wait_for(lambda: feeder.send(**{"cpu.percent": 99.0})
                          or alerts_for(alert_broker, "spiky", state="firing"),
                          timeout=10, what="firing alert")
        alert = firing[0]
        assert alert["rule"] == "cpu_spike" and alert["severity"] == "critical"
        assert alert["value"] == 99.0 and alert["summary"] == "CPU on spiky at 99%"
        for key in ("id", "acked", "silenced", "flapping", "started_at"):
            assert key in alert
        # 85 is under critical's clear line (95 - 5) but over warning: severity steps down
        wait_for(lambda: feeder.send(**{"cpu.percent": 85.0})
                 or alerts_for(alert_broker, "spiky", severity="warning"), timeout=5,
                 what="de-escalation")
        # 78 is under the warning line but within the clear margin: still firing
        feeder.send(**{"cpu.percent": 78.0})
        wait_for(lambda: alerts_for(alert_broker, "spiky", value=78.0), timeout=5,
                 what="value update")
        assert alerts_for(alert_broker, "spiky", state="firing")
        wait_for(lambda: feeder.send(**{"cpu.percent": 20.0})
                 or alerts_for(alert_broker, "spiky", state="resolved"), timeout=5,
                 what="resolved")
        # and the alert changes went out on the publish socket
        frames = []
        while sub.poll(100):
            frames.append(protocol.decode(sub.recv_multipart()))
        states = [f["alert"]["state"] for f in frames if f["kind"] == "alert"]
        assert "firing" in states and "resolved" in states
        events = alert_broker.ctl_json("search", "kind:alert", "host:spiky")
        assert len(events) >= 3
    finally:
        sub.close(0)
        ctx.term()
        feeder.close()


def test_ack_silence_and_errors_through_ctl(alert_broker: Broker) -> None:
    out = alert_broker.ctl_json("simulate", "high_cpu_usage", "--host", "sim-host")
    alert_id = out["alert_ids"][0]
    alert = alerts_for(alert_broker, "sim-host")[0]
    assert alert["id"] == alert_id and alert["simulated"] is True
    assert alert_broker.ctl("ack", alert_id, "--comment", "on it").returncode == 0
    assert alerts_for(alert_broker, "sim-host")[0]["acked"] is True
    assert alert_broker.ctl("unack", alert_id).returncode == 0
    assert alerts_for(alert_broker, "sim-host")[0]["acked"] is False
    silence = alert_broker.ctl_json("silence", "host=sim-host", "--for", "1h",
                                    "--comment", "maintenance")
    assert alerts_for(alert_broker, "sim-host")[0]["silenced"]
    assert [s["id"] for s in alert_broker.ctl_json("silences")] == [silence["id"]]
    assert alert_broker.ctl("unsilence", silence["id"]).returncode == 0
    assert not alerts_for(alert_broker, "sim-host")[0]["silenced"]
    bad = alert_broker.ctl("ack", "nope")
    assert bad.returncode == 1 and "no alert with id 'nope'" in bad.stderr
    bad_host = alert_broker.ctl("simulate", "disk_full", "--host", "web 01;rm")
    assert bad_host.returncode == 1 and "host name 'web 01;rm' has a space" in bad_host.stderr
    assert not alerts_for(alert_broker, "web 01;rm")
    bad = alert_broker.ctl("silence", "host=~(", "--for", "1h")
    assert bad.returncode == 1 and "host=~(" in bad.stderr
    bad = alert_broker.ctl("simulate", "no_such_scenario")
    assert bad.returncode == 1 and "high_cpu_usage" in bad.stderr  # lists the known ones
    assert alert_broker.proc.poll() is None


def test_reload_with_a_bad_rules_file_keeps_the_old_rules(alert_broker: Broker) -> None:
    rules_path: Path = alert_broker.rules_path  # type: ignore[attr-defined]
    before = [r["name"] for r in alert_broker.ctl_json("rules")]
    assert "cpu_spike" in before
    rules_path.write_text(RULES.replace('for = "0s"', 'for = "3x"'))
    out = alert_broker.ctl("reload")
    assert out.returncode == 1
    assert "rules.toml" in out.stderr and "cpu_spike" in out.stderr and "for" in out.stderr
    assert [r["name"] for r in alert_broker.ctl_json("rules")] == before
    failed = wait_for(lambda: alert_broker.ctl_json("search", "kind:rules.reload", "failed"),
                      timeout=5, what="the failed reload in the event log")
    assert "old configuration kept" in failed[0]["message"] and failed[0]["severity"] == "warning"
    rules_path.write_text(RULES.replace("cpu_spike", "cpu_spike_renamed"))
    assert alert_broker.ctl("reload").returncode == 0
    assert "cpu_spike_renamed" in [r["name"] for r in alert_broker.ctl_json("rules")]


def test_sighup_reloads_the_rules(alert_broker: Broker) -> None:
    import signal

    rules_path: Path = alert_broker.rules_path  # type: ignore[attr-defined]
    rules_path.write_text(RULES.replace("cpu_spike", "cpu_spike_after_hup"))
    alert_broker.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "cpu_spike_after_hup" in [r["name"] for r in alert_broker.ctl_json("rules")],
             timeout=5, what="rules reloaded by SIGHUP")
    events = wait_for(lambda: alert_broker.ctl_json("search", "kind:rules.reload"), timeout=5,
                      what="reload event")
    assert "reloaded" in events[0]["message"]
    assert alert_broker.proc.poll() is None
