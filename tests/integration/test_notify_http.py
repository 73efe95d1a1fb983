"""Webhook, Alertmanager, Slack and Twilio channels against real loopback HTTP servers."""

from __future__ import annotations

import base64
import json
import tomllib
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.notify.config import parse_notify_config
from broker.notify.dispatcher import Notifier
from core.clock import FakeClock
from tests.notify_servers import Recorder, alert, alert_event

pytestmark = pytest.mark.integration
T0 = 1_700_000_000.0


@pytest.fixture
def server() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def notifier(tmp_path: Path, toml: str, clock: FakeClock, events: list | None = None,
             **kw) -> Notifier:
    cfg = parse_notify_config(tomllib.loads(toml), "broker.toml")
    return Notifier(cfg, tmp_path / "notify.db", clock=clock,
                    emit=None if events is None else events.append, **kw)


def test_webhook_alertmanager_v4_payload(tmp_path: Path, server: Recorder) -> None:
    clock = FakeClock(T0)
    toml = f"""
[[receiver]]
name = "hook"
type = "webhook"
url = "{server.url}/alerts"
headers = {{ X-Team = "ops" }}
[[route]]
receiver = "hook"
match = {{ severity = "critical" }}
group_wait = "0s"
group_interval = "1m"
"""
    with notifier(tmp_path, toml, clock, external_url="http://console:8080") as n:
        a = alert(labels={"dc": "eu"})
        n.handle(alert_event(a))
        n.handle(alert_event(alert("w1", severity="warning")))  # no route: nobody
        n.tick(T0)
        (req,) = server.wait_for(1)
        assert req["path"] == "/alerts"
        assert req["headers"]["content-type"] == "application/json"
        assert req["headers"]["x-team"] == "ops"
        body = json.loads(req["body"])
        labels = {"dc": "eu", "alertname": "high_cpu", "rule": "high_cpu", "host": "web-1",
                  "severity": "critical"}
        annotations = {"summary": "CPU on web-1 at 97%", "value": "97.0", "threshold": "90.0",
                       "metric": "cpu.percent"}
        assert body == {
            "version": "4", "groupKey": 'route1:{alertname="high_cpu",host="web-1"}',
            "truncatedAlerts": 0, "status": "firing", "receiver": "hook",
            "groupLabels": {"alertname": "high_cpu", "host": "web-1"},
            "commonLabels": labels, "commonAnnotations": annotations,
            "externalURL": "http://console:8080",
            "alerts": [{"status": "firing", "labels": labels, "annotations": annotations,
                        "startsAt": "2023-11-14T22:13:20.000Z",
                        "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://console:8080", "fingerprint": "a1"}]}
        assert req["headers"]["x-monitor-notification-id"] == n.recent()[0]["id"]
        # resolution: sent at the next group_interval flush
        n.handle(alert_event(alert(labels={"dc": "eu"}, state="resolved",
                                   resolved_at=T0 + 30), frm="firing"))
        clock.advance(60)
        n.tick()
        body = json.loads(server.wait_for(2)[1]["body"])
        assert body["status"] == "resolved"
        assert body["alerts"][0]["endsAt"] == "2023-11-14T22:13:50.000Z"
        assert [r["status"] for r in n.recent()] == ["delivered", "delivered"]


def test_simulated_alert_says_so(tmp_path: Path, server: Recorder) -> None:
    clock = FakeClock(T0)
    toml = f"""
[[receiver]]
name = "hook"
type = "webhook"
url = "{server.url}/"
[[route]]
receiver = "hook"
group_wait = "0s"
"""
    with notifier(tmp_path, toml, clock) as n:
        n.handle(alert_event(alert(simulated=True)))
        n.tick()
        body = json.loads(server.wait_for(1)[0]["body"])
        assert body["commonLabels"]["simulated"] == "true"
        assert body["alerts"][0]["annotations"]["simulated"] == "true"
        assert "[SIMULATED]" in n.recent()[0]["summary"]


def test_alertmanager_push(tmp_path: Path, server: Recorder) -> None:
    clock = FakeClock(T0)
    toml = f"""
[[receiver]]
name = "am"
type = "alertmanager"
url = "{server.url}"
bearer_token_env = "AM_TOKEN"
[[route]]
receiver = "am"
group_wait = "0s"
"""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AM_TOKEN", "am-token-xyz")
        n = notifier(tmp_path, toml, clock)
    with n:
        n.handle(alert_event(alert()))
        n.tick()
        (req,) = server.wait_for(1)
        assert req["path"] == "/api/v2/alerts"
        assert req["headers"]["authorization"] == "Bearer am-token-xyz"
        (a,) = json.loads(req["body"])
        assert set(a) == {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
        assert a["labels"]["alertname"] == "high_cpu" and a["endsAt"] == "0001-01-01T00:00:00Z"


def test_slack_block_kit(tmp_path: Path, server: Recorder) -> None:
    clock = FakeClock(T0)
    (tmp_path / "slack").write_text(f"{server.url}/services/T0/B0/SECRETXYZ\n")
    toml = f"""
[[receiver]]
name = "chat"
type = "slack"
url_file = "{tmp_path / 'slack'}"
channel = "#ops"
runbook_url = "https://wiki.example/runbooks/{{rule}}"
[[route]]
receiver = "chat"
group_wait = "0s"
"""
    with notifier(tmp_path, toml, clock) as n:
        n.handle(alert_event(alert(simulated=True)))
        n.tick()
        (req,) = server.wait_for(1)
        assert req["path"] == "/services/T0/B0/SECRETXYZ"
        body = json.loads(req["body"])
        assert body["channel"] == "#ops"
        assert body["text"] == "[SIMULATED] [FIRING:1] high_cpu on web-1"
        (att,) = body["attachments"]
        assert att["color"] == "#d32f2f"
        text = json.dumps(att["blocks"])
        assert "*Host*\\nweb-1" in text and "*Value*\\n97 % (threshold 90 %)" in text
        assert "<https://wiki.example/runbooks/high_cpu|Runbook>" in text
        assert "SIMULATED" in text


def test_twilio_sms(tmp_path: Path, server: Recorder) -> None:
    clock = FakeClock(T0)
    toml = f"""
[[receiver]]
name = "pager"
type = "sms"
account_sid = "AC0123"
token_env = "TWILIO_TOKEN"
from = "+15550000"
to = ["+15551111", "+15552222"]
base_url = "{server.url}"
[[route]]
receiver = "pager"
group_wait = "0s"
"""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWILIO_TOKEN", "twilio-tok")
        n = notifier(tmp_path, toml, clock)
    with n:
        n.handle(alert_event(alert()))
        n.tick()
        reqs = server.wait_for(2)
        for req, to in zip(reqs, ["+15551111", "+15552222"], strict=True):
            assert req["path"] == "/2010-04-01/Accounts/AC0123/Messages.json"
            assert req["headers"]["content-type"] == "application/x-www-form-urlencoded"
            auth = base64.b64decode(req["headers"]["authorization"].split()[1]).decode()
            assert auth == "AC0123:twilio-tok"
            form = dict(urllib.parse.parse_qsl(req["body"].decode()))
            assert form == {"To": to, "From": "+15550000",
                            "Body": "[FIRING:1] high_cpu on web-1: CPU on web-1 at 97%"}


def test_test_notify_and_recent(tmp_path: Path, server: Recorder) -> None:
    clock = FakeClock(T0)
    toml = f'[[receiver]]\nname = "hook"\ntype = "webhook"\nurl = "{server.url}/t"\n'
    with notifier(tmp_path, toml, clock) as n:
        nid = n.test_notify("hook")
        with pytest.raises(ValueError, match="unknown receiver 'nope'"):
            n.test_notify("nope")
        n.tick()
        (req,) = server.wait_for(1)
        assert req["headers"]["x-monitor-notification-id"] == nid
        body = json.loads(req["body"])
        assert body["alerts"][0]["labels"]["alertname"] == "TestNotification"
        (row,) = n.recent(10)
        assert (row["id"], row["status"], row["kind"], row["type"]) == (nid, "delivered",
                                                                        "test", "webhook")
        assert n.stats()["receivers"]["hook"]["delivered"] == 1


def test_escalation_and_ack_through_events(tmp_path: Path, server: Recorder) -> None:
    from broker.events import make_event

    clock = FakeClock(T0)
    toml = f"""
[[receiver]]
name = "team"
type = "webhook"
url = "{server.url}/team"
[[receiver]]
name = "boss"
type = "webhook"
url = "{server.url}/boss"
[[route]]
receiver = "team"
group_wait = "0s"
group_interval = "1m"
repeat_interval = "5m"
escalate_after = "15m"
escalate_to = "boss"
"""
    with notifier(tmp_path, toml, clock) as n:
        n.handle(alert_event(alert("a1", host="web-1")))
        n.handle(alert_event(alert("a2", host="web-2")))
        n.handle(make_event("ack", "acked", ts=T0 + 1, alert_id="a2"))
        for _ in range(15):
            clock.advance(60)
            n.tick()
        paths = [r["path"] for r in server.wait_for(6)]
        # two first notifications, two repeats of a1 only (a2 acked), then a1 escalated
        assert paths == ["/team", "/team", "/team", "/team", "/team", "/boss"], paths
        esc = json.loads(server.requests[-1]["body"])
        assert [a["fingerprint"] for a in esc["alerts"]] == ["a1"]
        assert all(json.loads(r["body"])["alerts"][0]["fingerprint"] == "a1"
                   for r in server.requests[2:5])


def test_engine_silence_and_unsilence_events(tmp_path: Path, server: Recorder) -> None:
    from broker.events import make_event

    clock = FakeClock(T0)
    toml = f"""
[[receiver]]
name = "hook"
type = "webhook"
url = "{server.url}/"
[[route]]
receiver = "hook"
group_wait = "0s"
group_interval = "1m"
repeat_interval = "2m"
"""
    with notifier(tmp_path, toml, clock) as n:
        n.handle(alert_event(alert()))
        # the engine's silence event lists the ids of the alerts it hits
        n.handle(make_event("silence", "silenced", ts=T0 + 1,
                            data={"silence": {"id": "s1"}, "alerts": ["a1"]}))
        for _ in range(5):
            clock.advance(60)
            n.tick()
        assert len(server.requests) == 1  # no repeats while silenced
        n.handle(make_event("unsilence", "expired", ts=clock.time(),
                            data={"silence": {"id": "s1"}, "reason": "expired"}))
        clock.advance(60)
        n.tick()
        assert len(server.wait_for(2)) == 2  # repeats resume
        # a flapping change is not a state change: to=True must not resolve anything
        flap = alert(flapping=True)
        n.handle(alert_event(flap, frm=False, to=True) | {"data": {
            "change": "flapping", "from": False, "to": True, "alert": flap}})
        clock.advance(600)
        n.tick()
        assert len(server.requests) == 2
