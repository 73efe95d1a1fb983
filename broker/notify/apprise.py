"""Anything else through Apprise URLs (discord://, tgram://, msteams://, ntfy://, ...).

Optional: ``pip install '.[apprise]'``. The library is imported only when such a receiver
is configured, with a clear error when it is missing. Apprise URLs embed tokens, so they
are secrets: ``urls_env`` (whitespace- or comma-separated) or ``urls_file`` (one per line),
or inline ``urls``.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from broker.notify import render
from broker.notify.base import Channel, Notification, PermanentError, TemporaryError

MISSING = "the apprise package is not installed; install it with pip install '.[apprise]'"


def _load() -> Any:
    try:
        return importlib.import_module("apprise")
    except ImportError:
        return None


def split_urls(text: str) -> list[str]:
    return [u for u in re.split(r"[\s,]+", text) if u]


class AppriseChannel(Channel):
    TYPE = "apprise"
    SETTINGS = {"urls": "secret", "runbook_url": "str", "title": "template", "body": "template"}
    REQUIRED = frozenset({"urls"})
    INLINE_SECRETS = frozenset({"urls"})

    @classmethod
    def check(cls, settings: dict[str, Any], secrets: dict[str, str]) -> tuple[str, str] | None:
        if _load() is None:
            return "type", MISSING
        return None

    def __init__(self, name: str, settings: dict[str, Any], secrets: dict[str, str],
                 timeout: float = 10.0) -> None:
        raw = secrets.get("urls", "")
        if isinstance(raw, list):  # inline list in TOML
            raw = " ".join(raw)
        super().__init__(name, settings, {"urls": raw}, timeout)

    def send(self, notification: Notification) -> None:
        mod = _load()
        if mod is None:
            raise PermanentError(f"apprise {self.name}: {MISSING}")
        ap = mod.Apprise()
        for url in split_urls(self.secret("urls") or ""):
            if not ap.add(url):
                raise PermanentError(f"apprise {self.name}: an Apprise URL was not understood")
        s = self.settings
        body = render.text_body(notification, s.get("runbook_url", ""),
                                render.body_template(notification, s))
        ok = ap.notify(title=render.title(notification, s), body=body)
        if not ok:
            raise TemporaryError(f"apprise {self.name}: at least one service did not accept "
                                 "the message")
