"""Alert rules: the model, and loading it from TOML ``[[rule]]`` tables with strict checks.

Every mistake in a rules file raises ``ConfigError`` naming the file, the rule and the key,
e.g. ``rules.toml: rule 'high_cpu' key 'for': bad duration '3x'``, so ``reload`` can refuse
it and keep the old rules. docs/alerts.md is the reference for every key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NoReturn

from broker.alerting.globs import never_matches
from broker.alerting.loglevels import check_level
from core.config import ConfigError, check_keys, load_toml, parse_duration
from core.protocol import SEVERITIES
from core.regex import compile_user

KINDS = ("threshold", "rate", "absent", "host_down", "forecast", "anomaly", "log")
OPS = (">", ">=", "<", "<=")
ANOMALY_OPS = (">", "<", "!=")
AGGS = ("last", "avg", "max", "min", "p95")
RESERVED_LABELS = frozenset({"host", "rule", "alertname", "severity", "metric", "kind"})

_COMMON = {"name", "kind", "hosts", "exclude_hosts", "labels", "summary", "description",
           "enabled", "for", "keep_firing_for", "flap_start", "flap_stop", "runbook_url"}
_LEVELS = {"metric", "op", "warning", "critical", "clear"}
KEYS = {
    "threshold": _COMMON | _LEVELS | {"over", "agg", "per_core"},
    "rate": _COMMON | _LEVELS | {"over", "counter"},
    "absent": _COMMON | {"metric", "severity"},
    "host_down": _COMMON | {"severity"},
    "forecast": _COMMON | _LEVELS | {"over", "horizon"},
    "anomaly": _COMMON | _LEVELS | {"sensitivity", "window", "warmup", "min_stddev"},
    "log": _COMMON | {"pattern", "level", "count", "over", "source", "severity"},
}
DEFAULT_OVER = {"threshold": 0.0, "rate": 60.0, "forecast": 3600.0, "log": 60.0}
DEFAULT_SUMMARY = {
    "threshold": "{metric} on {host} at {value:.4g} ({op} {threshold:.4g})",
    "rate": "{metric} on {host} changing {value:.4g}/s ({op} {threshold:.4g})",
    "absent": "no {metric} from {host} for {value:.0f}s",
    "host_down": "{host} sent nothing for {value:.0f}s",
    "forecast": "{metric} on {host} heading for {value:.4g} within the horizon",
    "anomaly": "{metric} on {host} unusual: expected {expected}, seen {seen}",
    "log": "{value:.0f} matching log lines from {host}",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule. Durations are seconds; ``for_`` is the TOML key ``for``."""

    name: str
    kind: str
    metric: str = ""
    op: str = ">"
    warning: float | None = None
    critical: float | None = None
    clear: float = 0.0
    for_: float = 0.0
    keep_firing_for: float = 0.0
    over: float = 0.0
    agg: str = "last"
    per_core: bool = False
    counter: bool = True
    horizon: float = 0.0
    sensitivity: float = 5.0
    window: int = 240
    warmup: int = 30
    min_stddev: float = 0.0
    pattern: str = ""
    level: tuple[str, ...] = ()
    count: int = 1
    source: str = "*"
    severity: str = "warning"
    hosts: tuple[str, ...] = ()
    exclude_hosts: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    description: str = ""
    runbook_url: str = ""
    enabled: bool = True
    flap_start: float = 30.0
    flap_stop: float = 25.0

    def to_dict(self) -> dict[str, Any]:
        """A msgpack/JSON-safe view (``monitor-ctl rules``), keyed as in the TOML file."""
        out: dict[str, Any] = {}
        for name in self.__slots__:  # type: ignore[attr-defined]
            val = getattr(self, name)
            out["for" if name == "for_" else name] = (
                list(val) if isinstance(val, tuple) else dict(val) if name == "labels" else val)
        return out


def load_rules(path: Any) -> list[Rule]:
    """Rules from a TOML file of ``[[rule]]`` tables; raises ConfigError naming file/rule/key."""
    return load_rule_file(path)[0]


def load_rule_file(path: Any) -> tuple[list[Rule], list[Any] | None]:
    """(rules, the raw ``[[inhibit]]`` tables or None when the file has no ``inhibit`` key);
    broker/alerting/inhibit.py parses the inhibit tables."""
    data = load_toml(path)
    check_keys(data, {"rule", "inhibit"}, str(path))
    if not isinstance(data.get("rule", []), list):
        raise ConfigError(f"{path}: 'rule' must be an array of tables ([[rule]])")
    return parse_rules(data.get("rule", []), str(path)), data.get("inhibit")


def default_rules() -> list[Rule]:
    """The rule set shipped in the package (``broker/alerting/default_rules.toml``)."""
    text = resources.files("broker.alerting").joinpath("default_rules.toml").read_text("utf-8")
    return parse_rules(tomllib.loads(text)["rule"], "default_rules.toml")


def parse_rules(tables: list[Any], source: str) -> list[Rule]:
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, table in enumerate(tables, 1):
        rule = parse_rule(table, source, i)
        if rule.name in seen:
            raise ConfigError(f"{source}: rule '{rule.name}' key 'name': defined twice")
        seen.add(rule.name)
        rules.append(rule)
    return rules


def parse_rule(table: Any, source: str, index: int = 1) -> Rule:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: rule #{index} must be a table")
    name = table.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"{source}: rule #{index} key 'name': expected a name like "
                          f"'high_cpu_usage', got {name!r}")
    p = _Parser(table, f"{source}: rule '{name}'")
    kind = p.choice("kind", KINDS, None)
    if kind == "anomaly" and "alpha" in table:
        p.fail("alpha", "the EWMA baseline is gone: tune 'sensitivity' (1-10, default 5) "
               "instead (docs/alerts.md)")
    check_keys(table, KEYS[kind], p.where)
    kw: dict[str, Any] = {"name": name, "kind": kind}
    kw["hosts"] = p.globs("hosts")
    kw["exclude_hosts"] = p.globs("exclude_hosts")
    kw["labels"] = p.labels()
    kw["enabled"] = p.boolean("enabled", True)
    kw["keep_firing_for"] = p.duration("keep_firing_for", 0.0)
    kw["flap_start"] = p.number("flap_start", 30.0, lo=0.0, hi=100.0)
    kw["flap_stop"] = p.number("flap_stop", 25.0, lo=0.0, hi=100.0)
    if kw["flap_stop"] > kw["flap_start"]:
        p.fail("flap_stop", f"must not exceed flap_start ({kw['flap_start']})")
    if kind in ("absent", "host_down"):
        kw["for_"] = p.duration("for", 30.0 if kind == "host_down" else 120.0)
        if kw["for_"] <= 0:
            p.fail("for", "the no-data duration must be above zero")
        kw["severity"] = p.choice("severity", SEVERITIES, "critical")
    else:
        kw["for_"] = p.duration("for", 0.0)
    if kind != "host_down" and kind != "log":
        kw["metric"] = p.metric()
    if kind in ("threshold", "rate", "forecast", "anomaly"):
        _parse_levels(p, kind, kw)
    if kind in DEFAULT_OVER:
        kw["over"] = p.duration("over", DEFAULT_OVER[kind])
        if kind != "threshold" and kw["over"] <= 0:
            p.fail("over", "the window must be above zero")
    if kind == "threshold":
        kw["agg"] = p.choice("agg", AGGS, "avg" if kw["over"] else "last")
        if kw["agg"] != "last" and not kw["over"]:
            p.fail("agg", f"'{kw['agg']}' needs a window: set 'over', e.g. over = \"1m\"")
        kw["per_core"] = p.boolean("per_core", False)
    elif kind == "forecast":
        kw["horizon"] = p.duration("horizon", 4 * 3600.0)
        if kw["horizon"] <= 0:
            p.fail("horizon", "must be above zero")
    elif kind == "anomaly":
        kw["sensitivity"] = p.number("sensitivity", 5.0, lo=1.0, hi=10.0)
        kw["window"] = int(p.number("window", 240, lo=16, hi=4096, integer=True))
        kw["warmup"] = int(p.number("warmup", 30, lo=2, integer=True))
        kw["min_stddev"] = p.number("min_stddev", 0.0, lo=0.0)
    elif kind == "rate":
        kw["counter"] = p.boolean("counter", True)
    elif kind == "log":
        kw["level"] = p.levels("level")
        kw["pattern"] = p.regex("pattern", "" if kw["level"] else None)
        kw["count"] = int(p.number("count", 1, lo=1, integer=True))
        kw["source"] = p.glob("source", "*")
        kw["severity"] = p.choice("severity", SEVERITIES, "warning")
    kw["summary"] = p.template("summary", DEFAULT_SUMMARY[kind])
    kw["description"] = p.template("description", "")
    kw["runbook_url"] = p.url("runbook_url")
    return Rule(**kw)


def _parse_levels(p: _Parser, kind: str, kw: dict[str, Any]) -> None:
    kw["op"] = p.choice("op", ANOMALY_OPS if kind == "anomaly" else OPS, ">")
    kw["warning"] = p.number("warning", None)
    kw["critical"] = p.number("critical", None)
    if kw["warning"] is None and kw["critical"] is None and kind != "anomaly":
        p.fail("critical", "missing threshold: set 'warning' and/or 'critical'")
    if kind == "anomaly" and any(v is not None and v <= 0 for v in (kw["warning"], kw["critical"])):
        p.fail("warning", "anomaly thresholds are z-scores and must be above zero")
    w, c = kw["warning"], kw["critical"]
    if w is not None and c is not None:
        worse = c >= w if kind == "anomaly" or kw["op"] in (">", ">=") else c <= w
        if not worse:
            p.fail("critical", f"{c} is less severe than warning {w} for op '{kw['op']}'")
    kw["clear"] = p.number("clear", 0.0, lo=0.0)


class _Parser:
    """Typed getters that raise ConfigError naming ``where`` and the key."""

    def __init__(self, table: dict[str, Any], where: str) -> None:
        self.t = table
        self.where = where

    def fail(self, key: str, why: str) -> NoReturn:
        raise ConfigError(f"{self.where} key '{key}': {why}")

    def choice(self, key: str, options: tuple[str, ...], default: str | None) -> str:
        val = self.t.get(key, default)
        if val is None:
            self.fail(key, f"missing (one of {', '.join(options)})")
        if val not in options:
            self.fail(key, f"bad value {val!r} (expected one of {', '.join(options)})")
        return str(val)

    def number(self, key: str, default: Any, *, lo: float | None = None,
               hi: float | None = None, integer: bool = False, strict: bool = False) -> Any:
        val = self.t.get(key, default)
        if val is None:
            return None
        if isinstance(val, bool) or not isinstance(val, int | float) or (
                integer and not isinstance(val, int)):
            self.fail(key, f"expected {'an integer' if integer else 'a number'}, got {val!r}")
        if val != val or val in (float("inf"), float("-inf")):
            self.fail(key, f"expected a finite number, got {val!r}")
        if lo is not None and (val <= lo if strict else val < lo):
            self.fail(key, f"{val!r} is below the minimum {lo}")
        if hi is not None and (val >= hi if strict else val > hi):
            self.fail(key, f"{val!r} is above the maximum {hi}")
        return val if integer else float(val)

    def boolean(self, key: str, default: bool) -> bool:
        val = self.t.get(key, default)
        if not isinstance(val, bool):
            self.fail(key, f"expected true or false, got {val!r}")
        return val

    def duration(self, key: str, default: float) -> float:
        if key not in self.t:
            return default
        return parse_duration(self.t[key], f"{self.where} key '{key}'")

    def metric(self) -> str:
        val = self.t.get("metric")
        if val is None:
            self.fail("metric", "missing (a metric name or glob, e.g. 'disk.*.percent')")
        if not isinstance(val, str):
            self.fail("metric", f"expected a string, got {val!r}")
        why = never_matches(val)
        if why:
            self.fail("metric", f"glob {val!r} can never match: {why}")
        return val

    def glob(self, key: str, default: str) -> str:
        val = self.t.get(key, default)
        if not isinstance(val, str) or not val:
            self.fail(key, f"expected a non-empty glob string, got {val!r}")
        return val

    def globs(self, key: str) -> tuple[str, ...]:
        val = self.t.get(key, [])
        if isinstance(val, str):
            val = [val]
        if not isinstance(val, list) or not all(isinstance(v, str) and v for v in val):
            self.fail(key, f"expected a list of host globs, got {val!r}")
        return tuple(val)

    def labels(self) -> dict[str, str]:
        val = self.t.get("labels", {})
        if not isinstance(val, dict):
            self.fail("labels", f"expected a table of strings, got {val!r}")
        for k, v in val.items():
            if not isinstance(v, str):
                self.fail("labels", f"label '{k}' must be a string, got {v!r}")
            if k in RESERVED_LABELS:
                self.fail("labels", f"label '{k}' is reserved (set by the engine)")
        return dict(val)

    def url(self, key: str) -> str:
        val = self.t.get(key, "")
        if not isinstance(val, str) or (val and not re.fullmatch(r"https?://\S+", val)):
            self.fail(key, f"expected an http:// or https:// URL, got {val!r}")
        return val

    def levels(self, key: str) -> tuple[str, ...]:
        val = self.t.get(key, [])
        if isinstance(val, str):
            val = [val]
        if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
            self.fail(key, f"expected a level or a list of levels, got {val!r}")
        for v in val:
            why = check_level(v)
            if why:
                self.fail(key, why)
        return tuple(val)

    def regex(self, key: str, default: str | None = None) -> str:
        val = self.t.get(key, default)
        if val == "" and default == "":
            return val
        if not isinstance(val, str) or not val:
            self.fail(key, f"missing or empty regex, got {val!r}")
        try:
            compile_user(val)
        except ValueError as exc:
            self.fail(key, str(exc))
        return val

    def template(self, key: str, default: str) -> str:
        val = self.t.get(key, default)
        if not isinstance(val, str):
            self.fail(key, f"expected a string, got {val!r}")
        try:
            val.format(**TEMPLATE_PROBE)
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            self.fail(key, f"bad template {val!r}: {exc.__class__.__name__}: {exc} "
                      f"(fields: {', '.join(TEMPLATE_PROBE)})")
        return val


TEMPLATE_PROBE: dict[str, Any] = {"host": "h", "value": 1.0, "threshold": 1.0,
                                  "metric": "m", "rule": "r", "severity": "warning", "op": ">",
                                  "expected": "1-2", "seen": "3"}
