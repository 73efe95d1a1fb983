"""Message templates: a small, safe Mustache-like language over a notification's fields.

    {{ field }}  {{ field | filter }}  {{ labels.team }}
    {{#firing}} ... {{/firing}}   repeat for each item of a list, or once if truthy
    {{^resolved}} ... {{/resolved}}   once if empty or false

No code runs: a template is parsed once into text, field and section nodes, every field
name and filter is checked against the known ones at load (``check``), and rendering only
looks names up in plain dicts. Inside a section over alerts, the alert's fields come first,
then the notification's. Fields and filters are listed in docs/notifications.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from core import units

TAG = re.compile(r"\{\{\s*([#^/]?)\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:\|\s*([a-z_]+)\s*)?\}\}")

GROUP_FIELDS = {
    "title": "the default title ([FIRING:2] high_cpu_usage on web-1)",
    "status": "firing or resolved", "receiver": "the receiver's name",
    "simulated": "true when a simulated alert is in the group",
    "test": "true for a test message", "tag": "[TEST] / [SIMULATED] / [ESCALATED] or empty",
    "firing": "the firing alerts (a list)", "resolved": "the resolved alerts (a list)",
    "alerts": "all the alerts (a list)", "count": "how many alerts",
    "count_firing": "how many fire", "count_resolved": "how many resolved",
    "group_labels": "the labels the route groups by (group_labels.host ...)",
    "rules": "the rule names, comma-separated", "hosts": "the hosts, comma-separated",
    "link": "[broker] external_url, or empty when it is not set",
}
ALERT_FIELDS = {
    "id": "the alert id", "rule": "the rule name", "host": "the host",
    "severity": "info, warning or critical", "state": "firing or resolved",
    "summary": "the rule's summary", "description": "the rule's description",
    "metric": "the metric name", "value": "the value (use | value for its unit)",
    "threshold": "the threshold", "labels": "the labels (labels.team ...)",
    "started_at": "when it started (use | time)", "resolved_at": "when it resolved",
    "duration": "how long it fired (to now while firing; use | duration)",
    "expected": "an anomaly's expected range, e.g. 12–18 %",
    "runbook_url": "the rule's runbook_url or the receiver's runbook template, or empty",
}
FILTERS = ("duration", "value", "time", "upper", "lower", "count")


class TemplateError(ValueError):
    pass


Node = tuple[Any, ...]  # ("text", s) | ("var", path, filter) | ("sec", path, inverted, body)


def parse(text: str) -> list[Node]:
    """The node tree; TemplateError for unbalanced sections or an unknown filter."""
    root: list[Node] = []
    stack: list[tuple[str, bool, list[Node]]] = []
    out = root
    pos = 0
    for m in TAG.finditer(text):
        if m.start() > pos:
            out.append(("text", text[pos:m.start()]))
        pos = m.end()
        kind, path, filt = m.group(1), m.group(2), m.group(3)
        if filt and filt not in FILTERS:
            raise TemplateError(f"unknown filter '{filt}' (filters: {', '.join(FILTERS)})")
        if kind in ("#", "^"):
            stack.append((path, kind == "^", out))
            out = []
        elif kind == "/":
            if not stack or stack[-1][0] != path:
                raise TemplateError(f"{{{{/{path}}}}} closes nothing open"
                                    + (f" (open: {stack[-1][0]})" if stack else ""))
            name, inverted, parent = stack.pop()
            parent.append(("sec", name, inverted, out))
            out = parent
        else:
            out.append(("var", path, filt))
    if stack:
        raise TemplateError(f"{{{{#{stack[-1][0]}}}}} is never closed")
    rest = text[pos:]
    if "{{" in rest or "}}" in rest:
        raise TemplateError(f"a malformed tag near {rest[rest.find('{{'):][:30]!r}")
    if rest:
        out.append(("text", rest))
    return root


def check(text: str) -> list[Node]:
    """Parse and check every name against the known fields; TemplateError names the first
    unknown one."""
    nodes = parse(text)
    _check(nodes, in_alert=False)
    return nodes


def _check(nodes: list[Node], in_alert: bool) -> None:
    for n in nodes:
        if n[0] == "text":
            continue
        head = n[1].split(".")[0]
        known = set(GROUP_FIELDS) | (set(ALERT_FIELDS) if in_alert else set())
        if head not in known:
            where = "inside an alert section" if in_alert else "at the top (alert fields " \
                "need {{#firing}}, {{#resolved}} or {{#alerts}})"
            raise TemplateError(f"unknown field '{n[1]}' {where}; fields: "
                                f"{', '.join(sorted(known))}")
        if n[0] == "sec":
            _check(n[3], in_alert or head in ("firing", "resolved", "alerts"))


def render(nodes: list[Node], ctx: dict[str, Any]) -> str:
    return "".join(_render(nodes, [ctx]))


def _render(nodes: list[Node], stack: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for n in nodes:
        if n[0] == "text":
            out.append(n[1])
        elif n[0] == "var":
            out.append(_fmt(_lookup(n[1], stack), n[2], stack))
        else:
            val = _lookup(n[1], stack)
            items = val if isinstance(val, list) else ([stack[-1]] if val else [])
            if n[2]:  # inverted
                if not items:
                    out += _render(n[3], stack)
                continue
            for item in items:
                out += _render(n[3], [*stack, item if isinstance(item, dict) else {}])
    return out


def _lookup(path: str, stack: list[dict[str, Any]]) -> Any:
    head, *rest = path.split(".")
    for ctx in reversed(stack):
        if head in ctx:
            val = ctx[head]
            for part in rest:
                val = val.get(part, "") if isinstance(val, dict) else ""
            return val
    return ""


def _fmt(val: Any, filt: str | None, stack: list[dict[str, Any]]) -> str:
    if filt == "count":
        return str(len(val)) if isinstance(val, list | dict) else "0"
    if filt == "duration":
        return units.duration(float(val)) if isinstance(val, int | float) else ""
    if filt == "time":
        return datetime.fromtimestamp(float(val), UTC).strftime("%Y-%m-%d %H:%M UTC") \
            if isinstance(val, int | float) and val else ""
    if filt == "value":
        metric = str(_lookup("metric", stack) or "")
        return units.value(float(val), metric) if isinstance(val, int | float) else str(val)
    text = _plain(val)
    if filt == "upper":
        return text.upper()
    if filt == "lower":
        return text.lower()
    return text


def _plain(val: Any) -> str:
    if val is None or val is False:
        return ""
    if val is True:
        return "true"
    if isinstance(val, float):
        return f"{val:g}"
    if isinstance(val, list):
        return ", ".join(_plain(v) for v in val)
    if isinstance(val, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(val.items()))
    return str(val)
