"""Push alerts to a running Alertmanager (API v2), for teams that already route there.

``POST {url}/api/v2/alerts`` with a list of ``{labels, annotations, startsAt, endsAt,
generatorURL}``. A firing alert carries the zero ``endsAt``, so Alertmanager applies its
``resolve_timeout``: keep the route's ``repeat_interval`` below it (e.g. ``"1m"``), and
let Alertmanager do the grouping (``group_wait = "0s"`` on our side).
"""

from __future__ import annotations

import json

from broker.notify.base import Channel, Notification, http_post
from broker.notify.webhook import am_alert, auth_headers


class AlertmanagerChannel(Channel):
    TYPE = "alertmanager"
    SETTINGS = {"url": "url", "headers": "table", "username": "str", "password": "secret",
                "bearer_token": "secret"}
    REQUIRED = frozenset({"url"})

    def send(self, notification: Notification) -> None:
        alerts = []
        for a in notification.alerts:
            full = am_alert(a, notification.external_url)
            alerts.append({k: full[k] for k in ("labels", "annotations", "startsAt", "endsAt",
                                                 "generatorURL")})
        url = self.settings["url"].rstrip("/") + "/api/v2/alerts"
        http_post(url, json.dumps(alerts).encode(), content_type="application/json",
                  timeout=self.timeout, headers=auth_headers(self),
                  what=f"alertmanager {self.name}", key=notification.id)
