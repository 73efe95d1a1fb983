"""Named simulation scenarios: which rule a scenario fires, on which metric, at what value.

A scenario name is one of ``SCENARIOS`` or the name of any loaded rule. The rule comes
from the loaded rules when present, otherwise from the shipped defaults, so
``simulate high_cpu_usage`` works even with a custom rules file that lacks that rule.
"""

from __future__ import annotations

from broker.alerting.evaluators import CRITICAL, Levels
from broker.alerting.rules import Rule, default_rules

SIMULATE_TTL_S = 300.0
DEFAULT_HOST = "simulated"

# scenario -> (rule name, metric, value)
SCENARIOS: dict[str, tuple[str, str, float | None]] = {
    "high_cpu_usage": ("high_cpu_usage", "cpu.percent", 97.0),
    "high_memory_usage": ("high_memory_usage", "mem.percent", 97.0),
    "disk_full": ("disk_full", "disk./.percent", 97.0),
    "host_down": ("host_down", "", 60.0),
    "log_error": ("log_errors", "", 5.0),
}


def scenario(name: str, rules: list[Rule]) -> tuple[Rule, str, float, float, str]:
    """(rule, metric, value, threshold, severity) for a scenario; ValueError if unknown."""
    by_name = {r.name: r for r in rules}
    if name in SCENARIOS:
        rule_name, metric, value = SCENARIOS[name]
        rule = by_name.get(rule_name) or {r.name: r for r in default_rules()}[rule_name]
    elif name in by_name:
        rule, metric, value = by_name[name], "", None
    else:
        known = sorted(set(SCENARIOS) | set(by_name))
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(known)}")
    if rule.kind in ("absent", "host_down", "log"):
        severity = rule.severity
        threshold = float(rule.count if rule.kind == "log" else rule.for_)
        value = value if value is not None else threshold * 2
        metric = metric or (rule.metric if rule.kind == "absent" else "")
    elif rule.kind == "anomaly":  # no baseline to be out of: a value plainly unusual
        severity = CRITICAL if rule.critical is not None else "warning"
        metric = metric or concrete(rule.metric)
        threshold = 0.0
        value = value if value is not None else (97.0 if metric.endswith("percent") else 1e6)
    else:
        severity = CRITICAL if rule.critical is not None else "warning"
        levels = Levels(rule.op, rule.warning, rule.critical, rule.clear)
        threshold = levels.threshold(severity)
        if value is None:
            step = max(abs(threshold) * 0.05, 1.0)
            value = threshold - step if rule.op in ("<", "<=") else threshold + step
        metric = metric or concrete(rule.metric)
    return rule, metric, float(value), threshold, severity


def concrete(glob: str) -> str:
    """A metric name a glob matches, for display: ``disk.*.percent`` -> ``disk.sim.percent``."""
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out.append("sim")
        elif c == "?":
            out.append("x")
        elif c == "[":
            j = glob.find("]", i + 2)
            body = glob[i + 1:j]
            out.append(body[1] if body.startswith("!") is False and body else "x")
            i = j
        else:
            out.append(c)
        i += 1
    return "".join(out)
