"""Inhibition rules, Alertmanager's meaning: ``[[inhibit]]`` with ``source``, ``target``, ``equal``.

An alert is inhibited while some *firing* alert (not itself) matches every ``source``
matcher, the alert matches every ``target`` matcher, and the two have the same value for
every label named in ``equal`` (a label neither has counts as equal, as in Alertmanager).
Silenced or inhibited sources still inhibit. The labels matched are those silences see
(``host``, ``rule``, ``alertname``, ``severity``, ``kind``, ``metric``, ``state``, the rule's
labels and the host's frame labels).

The shipped rules carry the one inhibition that used to be built in::

    [[inhibit]]
    source = ["kind=host_down"]
    target = ["kind!=host_down"]
    equal = ["host"]

A rule set without any ``inhibit`` key gets that default; ``inhibit = []`` turns it off.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from core.config import ConfigError, check_keys
from core.matchers import Matcher

KEYS = {"source", "target", "equal", "name"}


@dataclass(frozen=True, slots=True)
class InhibitRule:
    name: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": [str(m) for m in self.source],
                "target": [str(m) for m in self.target], "equal": list(self.equal)}


def parse_inhibits(tables: Any, source: str) -> list[InhibitRule]:
    """``[[inhibit]]`` tables; ConfigError naming the file, the inhibit rule and the key."""
    if not isinstance(tables, list):
        raise ConfigError(f"{source}: 'inhibit' must be an array of tables ([[inhibit]])")
    return [parse_inhibit(t, source, i) for i, t in enumerate(tables, 1)]


def parse_inhibit(table: Any, source: str, index: int) -> InhibitRule:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: inhibit #{index} must be a table")
    name = table.get("name", f"inhibit #{index}")
    where = f"{source}: inhibit '{name}'" if "name" in table else f"{source}: inhibit #{index}"
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where} key 'name': expected a non-empty string, got {name!r}")
    check_keys(table, KEYS, where)
    matchers = {}
    for key in ("source", "target"):
        val = table.get(key)
        if isinstance(val, str):
            val = [val]
        if not isinstance(val, list) or not val:
            raise ConfigError(f"{where} key '{key}': expected a list of matchers like "
                              f"[\"alertname=host_down\"], got {val!r}")
        try:
            matchers[key] = tuple(Matcher.parse(m) for m in val)
        except ValueError as exc:
            raise ConfigError(f"{where} key '{key}': {exc}") from None
    equal = table.get("equal", [])
    if not isinstance(equal, list) or not all(isinstance(x, str) and x for x in equal):
        raise ConfigError(f"{where} key 'equal': expected a list of label names, got {equal!r}")
    return InhibitRule(name, matchers["source"], matchers["target"], tuple(equal))


def default_inhibits() -> list[InhibitRule]:
    """The ``[[inhibit]]`` tables of the shipped rules file."""
    text = resources.files("broker.alerting").joinpath("default_rules.toml").read_text("utf-8")
    return parse_inhibits(tomllib.loads(text).get("inhibit", []), "default_rules.toml")


def inhibited_by(rules: Iterable[InhibitRule], target: dict[str, str], target_id: str,
                 sources: Iterable[tuple[str, dict[str, str]]]) -> str | None:
    """The name of the first rule under which one of the firing ``sources`` (id, labels)
    inhibits the alert ``target_id`` with ``target`` labels, or None."""
    srcs = list(sources)
    for r in rules:
        if not all(m.matches(target) for m in r.target):
            continue
        for sid, labels in srcs:
            if sid == target_id or not all(m.matches(labels) for m in r.source):
                continue
            if all(labels.get(k, "") == target.get(k, "") for k in r.equal):
                return r.name
    return None
