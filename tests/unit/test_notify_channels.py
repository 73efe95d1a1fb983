"""Channel pieces that need no server: Apprise (optional extra), rendering, payload helpers."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from broker.notify import render
from broker.notify.apprise import AppriseChannel
from broker.notify.base import Notification, PermanentError, TemporaryError, rfc3339
from broker.notify.webhook import webhook_payload


def note(**kw: Any) -> Notification:
    a = {"id": "a1", "rule": "high_cpu", "host": "web-1", "severity": "critical",
         "state": "firing", "value": 97.0, "summary": "CPU high", "started_at": 1.7e9,
         "labels": {}}
    a.update(kw.pop("alert", {}))
    return Notification(id="n1", receiver="r", status="firing", alerts=[a], **kw)


class FakeApprise:
    sent: list[tuple[list[str], str, str]] = []
    ok = True

    def __init__(self) -> None:
        self.urls: list[str] = []

    def add(self, url: str) -> bool:
        self.urls.append(url)
        return "://" in url

    def notify(self, title: str, body: str) -> bool:
        FakeApprise.sent.append((self.urls, title, body))
        return FakeApprise.ok


@pytest.fixture
def fake_apprise(monkeypatch: pytest.MonkeyPatch) -> type[FakeApprise]:
    mod = types.ModuleType("apprise")
    mod.Apprise = FakeApprise  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "apprise", mod)
    FakeApprise.sent, FakeApprise.ok = [], True
    return FakeApprise


def test_apprise_sends_title_and_body(fake_apprise: type[FakeApprise]) -> None:
    ch = AppriseChannel("chat", {}, {"urls": "ntfy://topic, tgram://bot/chat"})
    ch.send(note(alert={"simulated": True}))
    ((urls, title, body),) = fake_apprise.sent
    assert urls == ["ntfy://topic", "tgram://bot/chat"]
    assert title == "[SIMULATED] [FIRING:1] high_cpu on web-1" and "Host: web-1" in body
    fake_apprise.ok = False
    with pytest.raises(TemporaryError):
        ch.send(note())
    with pytest.raises(PermanentError, match="not understood"):
        AppriseChannel("chat", {}, {"urls": "garbage"}).send(note())


def test_apprise_missing_is_permanent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # import fails
    with pytest.raises(PermanentError, match="pip install"):
        AppriseChannel("chat", {}, {"urls": "ntfy://t"}).send(note())


def test_render_test_and_escalation_tags() -> None:
    assert render.subject(note(kind="test")).startswith("[TEST] test notification")
    assert render.subject(note(kind="escalation")) == "[ESCALATED] [FIRING:1] high_cpu on web-1"
    resolved = note(alert={"state": "resolved", "resolved_at": 1.7e9 + 60})
    assert render.subject(resolved) == "[RESOLVED:1] high_cpu on web-1 after 1m"
    assert render.top_severity(resolved) == "resolved"
    assert len(render.short_text(note(alert={"summary": "x" * 500}), 160)) == 160


def test_webhook_truncation_and_times() -> None:
    n = note()
    n.alerts = [dict(n.alerts[0], id=f"a{i}") for i in range(5)]
    p = webhook_payload(n, max_alerts=2)
    assert p["truncatedAlerts"] == 3 and len(p["alerts"]) == 2
    assert rfc3339(None) == "0001-01-01T00:00:00Z"
    assert rfc3339(1_700_000_000.25) == "2023-11-14T22:13:20.250Z"
