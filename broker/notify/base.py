"""The one small interface every channel implements, and what channels share.

A channel turns a :class:`Notification` into one delivery attempt. It raises
:class:`PermanentError` when retrying cannot help (a 4xx: bad URL, bad token, bad payload,
i.e. the receiver is misconfigured) and :class:`TemporaryError` when it can (5xx, timeout,
connection refused). The outbox decides what happens next; a channel never retries itself.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

USER_AGENT = "monitor-notify/0.1"
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "no end time"


class DeliveryError(Exception):
    """A failed delivery attempt; the message must never contain a secret."""


class PermanentError(DeliveryError):
    """Retrying will not help: the receiver is misconfigured or rejects the payload."""


class TemporaryError(DeliveryError):
    """Retrying may help: the service is down, slow or overloaded."""


@dataclass
class Notification:
    """One message to one receiver about one group of alerts (or a test)."""

    id: str
    receiver: str
    status: str  # "firing" | "resolved"
    alerts: list[dict[str, Any]]  # alert dicts (docs/internals.md), each with its "state"
    group_key: str = ""
    group_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    created_at: float = 0.0
    kind: str = "alert"  # "alert" | "escalation" | "test"
    repeat: int = 0  # messages with this content before this one (a repeat, a re-escalation)
    title_template: str = ""  # the route's templates (broker/notify/templates.py), if any
    body_template: str = ""

    @property
    def simulated(self) -> bool:
        return any(is_simulated(a) for a in self.alerts)

    @property
    def firing(self) -> list[dict[str, Any]]:
        return [a for a in self.alerts if a.get("state") != "resolved"]

    @property
    def resolved(self) -> list[dict[str, Any]]:
        return [a for a in self.alerts if a.get("state") == "resolved"]

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, text: str) -> Notification:
        return cls(**json.loads(text))


class Channel(ABC):
    """A notification channel. Subclasses declare their settings; config.py validates them.

    ``SETTINGS`` maps each key to its kind: ``str``, ``int``, ``bool``, ``url``, ``strlist``,
    ``table`` (str -> str) or ``secret``. A ``secret`` key ``k`` is given in the config as
    ``k_env`` (an environment variable name) or ``k_file`` (a path); only a few secrets may
    also be written inline (``INLINE_SECRETS``). ``REQUIRED`` lists keys that must be set
    (for a secret: one of its forms).
    """

    TYPE: ClassVar[str] = ""
    SETTINGS: ClassVar[dict[str, str]] = {}
    REQUIRED: ClassVar[frozenset[str]] = frozenset()
    INLINE_SECRETS: ClassVar[frozenset[str]] = frozenset()
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, name: str, settings: dict[str, Any], secrets: dict[str, str],
                 timeout: float = 10.0) -> None:
        self.name = name
        self.settings = {**self.DEFAULTS, **settings}
        self._secrets = secrets
        self.timeout = timeout

    def __repr__(self) -> str:  # never show secrets
        return f"<{type(self).__name__} {self.name!r}>"

    def secret(self, key: str) -> str | None:
        return self._secrets.get(key)

    @classmethod
    def check(cls, settings: dict[str, Any], secrets: dict[str, str]) -> tuple[str, str] | None:
        """Extra validation after parsing: (key, problem) or None. Never echo a secret."""
        return None

    @abstractmethod
    def send(self, notification: Notification) -> None:
        """Deliver once or raise PermanentError / TemporaryError."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (connections); called when the notifier stops."""


# -- helpers shared by the channels ----------------------------------------------------------

def is_simulated(alert: dict[str, Any]) -> bool:
    labels = alert.get("labels") or {}
    return bool(alert.get("simulated")) or str(labels.get("simulated", "")).lower() == "true"


def alert_labels(alert: dict[str, Any]) -> dict[str, str]:
    """The label set routing matches on and webhooks carry: the alert's labels plus
    alertname (= rule), rule, host and severity, and simulated="true" when simulated."""
    out = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
    rule = str(alert.get("rule") or out.get("alertname") or "")
    out.setdefault("alertname", rule)
    out.setdefault("rule", rule)
    if alert.get("host"):
        out["host"] = str(alert["host"])
    if alert.get("severity"):
        out["severity"] = str(alert["severity"])
    if is_simulated(alert):
        out["simulated"] = "true"
    return out


def alert_annotations(alert: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in ("summary", "description", "runbook_url"):
        if alert.get(key):
            out[key] = str(alert[key])
    for key, val in (alert.get("annotations") or {}).items():
        out.setdefault(str(key), str(val))
    for key in ("value", "threshold", "metric"):
        if alert.get(key) is not None and alert.get(key) != "":
            out[key] = str(alert[key])
    if is_simulated(alert):
        out["simulated"] = "true"
    return out


def runbook_url(alert: dict[str, Any], template: str = "") -> str:
    url = alert.get("runbook_url") or (alert.get("annotations") or {}).get("runbook_url") \
        or (alert.get("labels") or {}).get("runbook_url") or ""
    if not url and template:
        try:
            url = template.format(rule=alert.get("rule", ""), host=alert.get("host", ""),
                                  severity=alert.get("severity", ""), id=alert.get("id", ""))
        except (KeyError, IndexError, ValueError):
            url = template
    return str(url)


def valid_http_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def rfc3339(ts: float | None) -> str:
    if not ts:
        return ZERO_TIME
    return datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def http_post(url: str, body: bytes, *, content_type: str, timeout: float,
              headers: dict[str, str] | None = None, what: str = "request",
              key: str = "") -> bytes:
    """POST with the stdlib; map the outcome onto Permanent/TemporaryError.

    ``key`` (the notification id) goes out as the ``Idempotency-Key`` header: a resend of the
    same notification after a crash carries the same key, so a receiver can drop it.

    Error messages name the status and a short reason but never the URL (a Slack webhook
    URL is itself a secret) nor request headers.
    """
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", content_type)
    req.add_header("User-Agent", USER_AGENT)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) checked
            return resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            detail = _short(exc.read())
        code = exc.code
        msg = f"{what}: HTTP {code} {exc.reason}" + (f": {detail}" if detail else "")
        if code in (408, 425, 429) or code >= 500:
            raise TemporaryError(msg) from None
        raise PermanentError(msg) from None
    except TimeoutError:
        raise TemporaryError(f"{what}: timed out after {timeout:g}s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise TemporaryError(f"{what}: timed out after {timeout:g}s") from None
        text = getattr(reason, "strerror", None) or str(reason)
        raise TemporaryError(f"{what}: {text}") from None
    except (ConnectionError, OSError) as exc:
        raise TemporaryError(f"{what}: {exc.strerror or type(exc).__name__}") from None


def _short(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:limit]
