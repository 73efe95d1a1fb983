"""Generic webhook in Alertmanager's webhook format (version "4").

Any receiver written for Alertmanager (PagerDuty bridges, chat relays, ticket bots) takes
our notifications unchanged. One extra header, ``X-Monitor-Notification-Id``, carries the
outbox id so a receiver can drop the rare duplicate after a crash (see docs).
"""

from __future__ import annotations

import json
from typing import Any

from broker.notify.base import (
    Channel,
    Notification,
    alert_annotations,
    alert_labels,
    basic_auth,
    http_post,
    rfc3339,
)


def am_alert(a: dict[str, Any], external_url: str) -> dict[str, Any]:
    """One alert as Alertmanager represents it (webhook and API v2 share the shape)."""
    resolved = a.get("state") == "resolved"
    gen = external_url  # the console; it has no page per alert, so no made-up path
    return {
        "status": "resolved" if resolved else "firing",
        "labels": alert_labels(a),
        "annotations": alert_annotations(a),
        "startsAt": rfc3339(a.get("started_at")),
        "endsAt": rfc3339(a.get("resolved_at") if resolved else None),
        "generatorURL": gen,
        "fingerprint": str(a.get("id", "")),
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    out = dict(maps[0])
    for m in maps[1:]:
        out = {k: v for k, v in out.items() if m.get(k) == v}
    return out


def webhook_payload(n: Notification, max_alerts: int = 0) -> dict[str, Any]:
    alerts = [am_alert(a, n.external_url) for a in n.alerts]
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    return {
        "version": "4",
        "groupKey": n.group_key or f"test:{{receiver=\"{n.receiver}\"}}",
        "truncatedAlerts": truncated,
        "status": n.status,
        "receiver": n.receiver,
        "groupLabels": dict(n.group_labels),
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": n.external_url,
        "alerts": alerts,
    }


def auth_headers(ch: Channel) -> dict[str, str]:
    headers = dict(ch.settings.get("headers", {}))
    token = ch.secret("bearer_token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif ch.settings.get("username"):
        headers["Authorization"] = basic_auth(ch.settings["username"], ch.secret("password") or "")
    return headers


class WebhookChannel(Channel):
    TYPE = "webhook"
    SETTINGS = {"url": "url", "headers": "table", "username": "str", "password": "secret",
                "bearer_token": "secret", "max_alerts": "int"}
    REQUIRED = frozenset({"url"})

    def send(self, notification: Notification) -> None:
        body = json.dumps(webhook_payload(notification, self.settings.get("max_alerts", 0)))
        headers = auth_headers(self)
        headers["X-Monitor-Notification-Id"] = notification.id
        http_post(self.settings["url"], body.encode(), content_type="application/json",
                  timeout=self.timeout, headers=headers, what=f"webhook {self.name}",
                  key=notification.id)
