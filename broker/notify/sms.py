"""SMS through Twilio's REST API (or anything that speaks it: the base URL is configurable).

``POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`` form-encoded
(To, From, Body) with HTTP basic auth (account SID, auth token), one request per recipient.
If some recipients fail with a temporary error the whole notification is retried, so
those that already got it may get it twice; a 4xx for any recipient is permanent.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from broker.notify import render
from broker.notify.base import (
    Channel,
    Notification,
    PermanentError,
    TemporaryError,
    basic_auth,
    http_post,
)


class SmsChannel(Channel):
    TYPE = "sms"
    SETTINGS = {"account_sid": "str", "token": "secret", "from": "str", "to": "strlist",
                "base_url": "url", "max_length": "int", "body": "template"}
    REQUIRED = frozenset({"account_sid", "token", "from", "to"})
    DEFAULTS = {"base_url": "https://api.twilio.com", "max_length": 160}

    @classmethod
    def check(cls, settings: dict[str, Any], secrets: dict[str, str]) -> tuple[str, str] | None:
        sid = settings.get("account_sid", "")
        if sid and not sid.isalnum():
            return "account_sid", "expected letters and digits (e.g. AC0123...)"
        return None

    def send(self, notification: Notification) -> None:
        s = self.settings
        sid = s["account_sid"]
        url = f"{s['base_url'].rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(sid)}" \
              "/Messages.json"
        text = render.short_text(notification, s["max_length"],
                                 render.body_template(notification, s))
        auth = {"Authorization": basic_auth(sid, self.secret("token") or "")}
        temporary: list[str] = []
        for i, number in enumerate(s["to"]):
            body = urllib.parse.urlencode({"To": number, "From": s["from"], "Body": text})
            try:
                http_post(url, body.encode(), content_type="application/x-www-form-urlencoded",
                          timeout=self.timeout, headers=auth, what=f"sms {self.name}",
                          key=f"{notification.id}-{i}")  # one key per message sent
            except TemporaryError as exc:
                temporary.append(str(exc))
            except PermanentError:
                raise
        if temporary:
            raise TemporaryError(f"{len(temporary)} of {len(s['to'])} recipients failed: "
                                 f"{temporary[0]}")
