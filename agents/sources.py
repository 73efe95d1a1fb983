"""Data from others: the ``[agent.statsd]``, ``[[agent.scrape]]`` and ``[[agent.check]]``
config tables, checked strictly, and the supervised agent children they become.

Each source publishes its metrics for the agent's host in frames of its own (at most
``CHUNK`` metrics each) and reports trouble as log events with source ``statsd``,
``scrape:<name>`` or ``check:<name>``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agents.checks import Check, CheckRunner, split_command
from agents.scrape import Scraper, Target
from core.config import ConfigError, check_keys, parse_duration

CHUNK = 500
STATSD_KEYS = {"listen", "flush", "prefix"}
SCRAPE_KEYS = {"name", "url", "interval", "timeout", "allow", "deny", "labels", "limit"}
CHECK_KEYS = {"name", "command", "interval", "timeout"}
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


@dataclass
class Sources:
    statsd: dict[str, Any] | None = None  # listen, flush, prefix
    scrapes: list[Target] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


def parse_sources(cfg: dict[str, Any], where: str, statsd_flag: str | None = None
                  ) -> Sources:
    out = Sources()
    st = cfg.get("statsd")
    if st is not None or statsd_flag:
        st = st if isinstance(st, dict) else {}
        check_keys(st, STATSD_KEYS, f"{where}: [agent.statsd]")
        listen = statsd_flag or st.get("listen", "127.0.0.1:8125")
        if not isinstance(listen, str) or not re.fullmatch(r"\[?[\w.:-]*\]?:\d{1,5}", listen):
            raise ConfigError(f"{where}: [agent.statsd] listen {listen!r}: expected HOST:PORT")
        flush = parse_duration(st.get("flush", "10s"), f"{where}: [agent.statsd] flush")
        if not 0.1 <= flush <= 3600:
            raise ConfigError(f"{where}: [agent.statsd] flush: expected 100ms to 1h")
        prefix = st.get("prefix", "statsd.")
        if not isinstance(prefix, str):
            raise ConfigError(f"{where}: [agent.statsd] prefix: expected a string")
        out.statsd = {"listen": listen.replace("[", "").replace("]", ""), "flush": flush,
                      "prefix": prefix}
    names: set[str] = set()
    for i, t in enumerate(_tables(cfg, "scrape", where), 1):
        w = f"{where}: [[agent.scrape]] #{i}"
        check_keys(t, SCRAPE_KEYS, w)
        url = t.get("url")
        parsed = urllib.parse.urlparse(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"{w} key 'url': expected an http(s):// URL, got {url!r}")
        name = _name(t.get("name") or parsed.netloc.replace(":", "_").replace(".", "_"),
                     w, names)
        target = Target(name, str(url), _dur(t, "interval", 15.0, w), _dur(t, "timeout", 5.0, w),
                        _globs(t, "allow", ("*",), w), _globs(t, "deny", (), w),
                        _labels(t.get("labels", {}), w), _int(t, "limit", 1000, w))
        out.scrapes.append(target)
    for i, t in enumerate(_tables(cfg, "check", where), 1):
        w = f"{where}: [[agent.check]] #{i}"
        check_keys(t, CHECK_KEYS, w)
        cmd = t.get("command")
        if not (isinstance(cmd, str) and cmd.strip()) and not (
                isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd)):
            raise ConfigError(f"{w} key 'command': expected a command line or a list of "
                              f"arguments, got {cmd!r}")
        try:
            argv = split_command(cmd)
        except ValueError as exc:
            raise ConfigError(f"{w} key 'command': {exc}") from None
        name = _name(t.get("name"), w, names)
        out.checks.append(Check(name, argv, _dur(t, "interval", 60.0, w),
                                _dur(t, "timeout", 10.0, w)))
    return out


def _tables(cfg: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    val = cfg.get(key, [])
    if not isinstance(val, list) or not all(isinstance(t, dict) for t in val):
        raise ConfigError(f"{where}: 'agent.{key}' must be an array of tables ([[agent.{key}]])")
    return val


def _name(val: Any, where: str, seen: set[str]) -> str:
    if not isinstance(val, str) or not _NAME.fullmatch(val) or len(val) > 64:
        raise ConfigError(f"{where} key 'name': expected a name like 'disk_root', got {val!r}")
    if val in seen:
        raise ConfigError(f"{where} key 'name': '{val}' is used twice")
    seen.add(val)
    return val


def _dur(t: dict[str, Any], key: str, default: float, where: str) -> float:
    v = parse_duration(t.get(key, default), f"{where} key '{key}'")
    if not 0.1 <= v <= 86400:
        raise ConfigError(f"{where} key '{key}': expected 100ms to 1d, got {v:g}s")
    return v


def _int(t: dict[str, Any], key: str, default: int, where: str) -> int:
    v = t.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5000:
        raise ConfigError(f"{where} key '{key}': expected 1 to 5000, got {v!r}")
    return v


def _globs(t: dict[str, Any], key: str, default: tuple[str, ...], where: str
           ) -> tuple[str, ...]:
    v = t.get(key, list(default))
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(g, str) and g for g in v):
        raise ConfigError(f"{where} key '{key}': expected a list of globs, got {v!r}")
    return tuple(v)


def _labels(v: Any, where: str) -> dict[str, str]:
    if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
        raise ConfigError(f"{where} key 'labels': expected a table of strings, got {v!r}")
    return dict(v)


def children(s: Sources, publish: Callable[[dict[str, float]], None],
             event: Callable[[str, str, str], None]) -> list[tuple[str, Any]]:
    """(child name, run(stop)) for the supervisor."""
    def chunked(metrics: dict[str, float]) -> None:
        items = list(metrics.items())
        for i in range(0, len(items), CHUNK):
            publish(dict(items[i:i + CHUNK]))

    out: list[tuple[str, Any]] = []
    if s.statsd:
        from agents.statsd import StatsdListener

        listener = StatsdListener(s.statsd["listen"], s.statsd["flush"], chunked, event,
                                  s.statsd["prefix"])
        out.append(("statsd", listener.run))
    for t in s.scrapes:
        out.append((f"scrape:{t.name}", Scraper(t, chunked, event).run))
    for c in s.checks:
        out.append((f"check:{c.name}", CheckRunner(c, chunked, event).run))
    return out
