"""Parse and check ``[[receiver]]`` and ``[[route]]`` tables of the broker's TOML config.

Strict: an unknown channel type, a missing setting, an invalid URL or an unknown key is a
:class:`core.config.ConfigError` naming the file, the receiver (or route) and the key.
Secrets are read from ``<key>_env`` (an environment variable) or ``<key>_file`` (a file)
when the config is parsed, so a missing one fails at start-up, not at 3 a.m.; an inline
``password``/``token`` is refused. Secret values never appear in reprs or error messages.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from broker.notify import templates
from broker.notify.base import Channel
from broker.notify.routing import Matcher, Route, TimeWindow
from core.config import ConfigError, check_keys, parse_duration

CHANNELS = {
    "email": "broker.notify.email:EmailChannel",
    "slack": "broker.notify.slack:SlackChannel",
    "sms": "broker.notify.sms:SmsChannel",
    "webhook": "broker.notify.webhook:WebhookChannel",
    "alertmanager": "broker.notify.alertmanager:AlertmanagerChannel",
    "apprise": "broker.notify.apprise:AppriseChannel",
}
COMMON_KEYS = {"name", "type", "timeout", "retry_initial", "retry_max", "expire", "rate_limit"}
ROUTE_KEYS = {"receiver", "match", "match_re", "matchers", "continue", "group_by", "group_wait",
              "group_interval", "repeat_interval", "send_resolved", "escalate_after",
              "escalate_to", "active_time", "mute_time", "title", "body"}


@dataclass
class ReceiverConfig:
    name: str
    type: str
    settings: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 10.0
    retry_initial: float = 1.0
    retry_max: float = 300.0
    expire: float = 24 * 3600.0
    rate_limit: tuple[int, float] | None = None  # (count, per seconds)

    def make_channel(self) -> Channel:
        cls = channel_class(self.type)
        return cls(self.name, self.settings, self.secrets, timeout=self.timeout)

    def secret_values(self) -> list[str]:
        """Everything that must be scrubbed from errors and events."""
        return [v for v in self.secrets.values() if v]


@dataclass
class NotifyConfig:
    receivers: dict[str, ReceiverConfig] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)


def channel_class(kind: str) -> type[Channel]:
    module, _, cls = CHANNELS[kind].partition(":")
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def parse_notify_config(cfg: dict[str, Any], source: str = "config") -> NotifyConfig:
    out = NotifyConfig()
    tables = cfg.get("receiver", [])
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list):
        raise ConfigError(f"{source}: 'receiver' must be an array of tables ([[receiver]])")
    for i, table in enumerate(tables, 1):
        rc = _receiver(table, f"{source}: receiver #{i}", source)
        if rc.name in out.receivers:
            raise ConfigError(f"{source}: receiver '{rc.name}' key 'name': defined twice")
        out.receivers[rc.name] = rc
    routes = cfg.get("route", [])
    if isinstance(routes, dict):
        routes = [routes]
    if not isinstance(routes, list):
        raise ConfigError(f"{source}: 'route' must be an array of tables ([[route]])")
    for i, table in enumerate(routes, 1):
        out.routes.append(_route(table, i, f"{source}: route #{i}", out.receivers))
    return out


# -- receivers -------------------------------------------------------------------------------

def _receiver(t: Any, where0: str, source: str) -> ReceiverConfig:
    if not isinstance(t, dict):
        raise ConfigError(f"{where0}: expected a table")
    name = t.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where0} key 'name': missing (every receiver needs a name)")
    where = f"{source}: receiver '{name}'"
    kind = t.get("type")
    if kind not in CHANNELS:
        raise ConfigError(f"{where} key 'type': unknown channel type {kind!r} "
                          f"(use {' | '.join(CHANNELS)})")
    cls = channel_class(kind)
    secrets = [k for k, v in cls.SETTINGS.items() if v == "secret"]
    for k in secrets:
        if k in t and k not in cls.INLINE_SECRETS:
            raise ConfigError(f"{where} key '{k}': inline secrets are not accepted; "
                              f"use {k}_env (environment variable) or {k}_file (path)")
    allowed = set(COMMON_KEYS) | {k for k, v in cls.SETTINGS.items() if v != "secret"}
    allowed |= {f"{k}{s}" for k in secrets for s in ("_env", "_file")} | set(cls.INLINE_SECRETS)
    check_keys(t, allowed, where)
    rc = ReceiverConfig(name=name, type=kind, settings={})
    for key, conv in (("timeout", "timeout"), ("retry_initial", "retry_initial"),
                      ("retry_max", "retry_max"), ("expire", "expire")):
        if key in t:
            setattr(rc, conv, _duration(t[key], where, key))
    if rc.timeout <= 0:
        raise ConfigError(f"{where} key 'timeout': must be > 0")
    if rc.retry_initial <= 0:
        raise ConfigError(f"{where} key 'retry_initial': must be > 0")
    if "rate_limit" in t:
        rc.rate_limit = _rate(t["rate_limit"], where)
    for key, kind_ in cls.SETTINGS.items():
        if kind_ == "secret":
            val = _secret(t, key, where)
            if val is not None:
                rc.secrets[key] = val
        elif key in t:
            rc.settings[key] = _check(t[key], kind_, where, key)
    problem = cls.check(rc.settings, rc.secrets)
    if problem:
        raise ConfigError(f"{where} key '{problem[0]}': {problem[1]}")
    for key in sorted(cls.REQUIRED):
        if key not in rc.settings and key not in rc.secrets:
            hint = f" (or {key}_env / {key}_file)" if key in secrets else ""
            raise ConfigError(f"{where} key '{key}': missing required setting{hint}")
    return rc


def _secret(t: dict[str, Any], key: str, where: str) -> str | None:
    given = [k for k in (key, f"{key}_env", f"{key}_file") if k in t]
    if len(given) > 1:
        raise ConfigError(f"{where} key '{given[1]}': give only one of {', '.join(given)}")
    if not given:
        return None
    k = given[0]
    ref = t[k]
    if k == key and isinstance(ref, list) and ref and all(isinstance(x, str) for x in ref):
        ref = " ".join(ref)  # e.g. a list of Apprise URLs
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"{where} key '{k}': expected a non-empty string")
    if k == key:
        return ref
    if k.endswith("_env"):
        val = os.environ.get(ref)
        if val is None:
            raise ConfigError(f"{where} key '{k}': environment variable {ref} is not set")
        return val
    try:
        return Path(ref).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{where} key '{k}': cannot read {ref}: {exc.strerror}") from None


def _check(v: Any, kind: str, where: str, key: str) -> Any:
    def bad(expect: str) -> ConfigError:
        return ConfigError(f"{where} key '{key}': expected {expect}, got {v!r}")

    if kind == "str":
        if not isinstance(v, str):
            raise bad("a string")
        return v
    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad("an integer")
        if key.endswith("port") and not 1 <= v <= 65535:
            raise ConfigError(f"{where} key '{key}': port {v} out of range 1-65535")
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            raise bad("true or false")
        return v
    if kind == "url":
        parts = urlsplit(v) if isinstance(v, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{where} key '{key}': invalid URL (expected http://HOST/... or "
                              "https://HOST/...)")
        try:
            _ = parts.port
        except ValueError:
            raise ConfigError(f"{where} key '{key}': invalid URL (bad port)") from None
        return v.rstrip("/") if key in ("base_url",) else v
    if kind in ("strlist", "emails"):
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, list) or not items or not all(
                isinstance(x, str) and x for x in items):
            raise bad("a non-empty list of strings")
        if kind == "emails":
            for x in items:
                if not re.fullmatch(r"[^@\s]+@[^@\s]+", x):
                    raise ConfigError(f"{where} key '{key}': {x!r} is not an email address")
        return list(items)
    if kind == "table":
        if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
            raise bad("a table of strings")
        return dict(v)
    if kind == "template":
        if not isinstance(v, str) or not v.strip():
            raise bad("a non-empty template string")
        try:
            templates.check(v)
        except templates.TemplateError as exc:
            raise ConfigError(f"{where} key '{key}': {exc}") from None
        return v
    if kind.startswith("choice:"):
        choices = kind[7:].split("|")
        if v not in choices:
            raise bad(" | ".join(choices))
        return v
    raise AssertionError(f"unknown setting kind {kind}")


def _duration(v: Any, where: str, key: str) -> float:
    try:
        return parse_duration(v, f"{where} key '{key}'")
    except ConfigError:
        raise
    except ValueError as exc:  # pragma: no cover - parse_duration raises ConfigError
        raise ConfigError(f"{where} key '{key}': {exc}") from None


def _rate(v: Any, where: str) -> tuple[int, float]:
    """'30/1m' or '5/s' -> (count, seconds); a bare integer means per minute."""
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v, 60.0
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\S+)\s*", v) if isinstance(v, str) else None
    if not m or int(m.group(1)) <= 0:
        raise ConfigError(f"{where} key 'rate_limit': expected e.g. \"30/1m\", got {v!r}")
    per = m.group(2)
    per = "1" + per if per[0].isalpha() else per
    seconds = parse_duration(per, f"{where} key 'rate_limit'")
    if seconds <= 0:
        raise ConfigError(f"{where} key 'rate_limit': the period must be > 0")
    return int(m.group(1)), seconds


# -- routes ----------------------------------------------------------------------------------

def _route(t: Any, index: int, where: str, receivers: dict[str, ReceiverConfig]) -> Route:
    if not isinstance(t, dict):
        raise ConfigError(f"{where}: expected a table")
    check_keys(t, ROUTE_KEYS, where)
    recv = t.get("receiver")
    names = [recv] if isinstance(recv, str) else recv
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where} key 'receiver': missing (name a [[receiver]])")
    for n in names:
        if n not in receivers:
            raise ConfigError(f"{where} key 'receiver': unknown receiver '{n}'")
    r = Route(index=index, receivers=list(names))
    for key, op in (("match", "="), ("match_re", "=~")):
        table = t.get(key, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where} key '{key}': expected a table like {{severity = \"critical\"}}")
        for name, val in table.items():
            try:
                r.matchers.append(Matcher.make(str(name), op, str(val)))
            except ValueError as exc:
                raise ConfigError(f"{where} key '{key}': {name}: {exc}") from None
    ms = t.get("matchers", [])
    if not isinstance(ms, list):
        raise ConfigError(f"{where} key 'matchers': expected a list of strings")
    for text in ms:
        try:
            r.matchers.append(Matcher.parse(str(text)))
        except ValueError as exc:
            raise ConfigError(f"{where} key 'matchers': {exc}") from None
    if "continue" in t:
        r.cont = _check(t["continue"], "bool", where, "continue")
    for key in ("title", "body"):
        if key in t:
            setattr(r, key, _check(t[key], "template", where, key))
    if "send_resolved" in t:
        r.send_resolved = _check(t["send_resolved"], "bool", where, "send_resolved")
    if "group_by" in t:
        r.group_by = _check(t["group_by"], "strlist", where, "group_by") if t["group_by"] else []
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if key in t:
            setattr(r, key, _duration(t[key], where, key))
    if r.group_interval <= 0 or r.repeat_interval <= 0:
        raise ConfigError(f"{where} key 'group_interval': group_interval and repeat_interval "
                          "must be > 0")
    if ("escalate_after" in t) != ("escalate_to" in t):
        missing = "escalate_to" if "escalate_after" in t else "escalate_after"
        raise ConfigError(f"{where} key '{missing}': escalate_after and escalate_to go together")
    if "escalate_to" in t:
        r.escalate_after = _duration(t["escalate_after"], where, "escalate_after")
        if t["escalate_to"] not in receivers:
            raise ConfigError(f"{where} key 'escalate_to': unknown receiver {t['escalate_to']!r}")
        r.escalate_to = t["escalate_to"]
    for key in ("active_time", "mute_time"):
        spec = t.get(key, [])
        specs = [spec] if isinstance(spec, dict) else spec
        if not isinstance(specs, list):
            raise ConfigError(f"{where} key '{key}': expected a table or a list of tables")
        for s in specs:
            if not isinstance(s, dict):
                raise ConfigError(f"{where} key '{key}': expected a table like "
                                  "{days = [\"mon\"], start = \"08:00\", end = \"20:00\"}")
            try:
                getattr(r, key).append(TimeWindow.parse(s))
            except ValueError as exc:
                raise ConfigError(f"{where} key '{key}': {exc}") from None
    return r
