"""Slack incoming webhook: a Block Kit message inside an attachment coloured by severity,
with host, value and runbook link for each alert.

The webhook URL is a credential (whoever has it can post), so it is handled as a secret:
``url_env``/``url_file`` preferred, an inline ``url`` accepted; it never appears in errors.
"""

from __future__ import annotations

import json
from typing import Any

from broker.notify import render
from broker.notify.base import Channel, Notification, http_post, runbook_url, valid_http_url

MAX_ALERTS = 10  # Slack allows 50 blocks per message


def slack_payload(n: Notification, settings: dict[str, Any]) -> dict[str, Any]:
    title = render.title(n, settings)
    custom = render.body_template(n, settings)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    if n.simulated:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": ":warning: *SIMULATED* alert (drill), no action needed"}]})
    if n.kind == "test":
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
                       f"*TEST* message for receiver `{n.receiver}`: the channel works."}})
    if custom:
        text = render.render_template(custom, n, settings)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    for a in ([] if n.kind == "test" or custom else n.alerts[:MAX_ALERTS]):
        state = "RESOLVED" if a.get("state") == "resolved" else str(a.get("severity", "")).upper()
        value = render.alert_value(a)
        fields = [("Host", a.get("host", "")), ("Severity", state),
                  ("Value", value), ("Rule", a.get("rule", ""))]
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn",
                                "text": f"*{a.get('summary') or a.get('rule', '')}*"},
                       "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"}
                                  for k, v in fields if v]})
        rb = runbook_url(a, settings.get("runbook_url", ""))
        if rb:
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"<{rb}|Runbook>"}]})
    if len(n.alerts) > MAX_ALERTS and n.kind != "test" and not custom:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"and {len(n.alerts) - MAX_ALERTS} more"}]})
    if n.external_url:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"<{n.external_url}|Open the console>"}]})
    colour = render.SEVERITY_COLOUR[render.top_severity(n)]
    payload: dict[str, Any] = {"text": title,
                               "attachments": [{"color": colour, "fallback": title,
                                                "blocks": blocks}]}
    for key in ("channel", "username", "icon_emoji"):
        if settings.get(key):
            payload[key] = settings[key]
    return payload


class SlackChannel(Channel):
    TYPE = "slack"
    SETTINGS = {"url": "secret", "channel": "str", "username": "str", "icon_emoji": "str",
                "runbook_url": "str", "title": "template", "body": "template"}
    REQUIRED = frozenset({"url"})
    INLINE_SECRETS = frozenset({"url"})

    @classmethod
    def check(cls, settings: dict[str, Any], secrets: dict[str, str]) -> tuple[str, str] | None:
        if "url" in secrets and not valid_http_url(secrets["url"]):
            return "url", "invalid URL (expected https://hooks.slack.com/services/...)"
        return None

    def send(self, notification: Notification) -> None:
        body = json.dumps(slack_payload(notification, self.settings)).encode()
        http_post(self.secret("url") or "", body, content_type="application/json",
                  timeout=self.timeout, what=f"slack {self.name}", key=notification.id)
