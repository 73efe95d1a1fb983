"""Human-readable text for a notification: subject, plain text, HTML, one-line SMS.

Every rendering of a simulated alert says SIMULATED, and a test message says TEST, so
nobody is paged in earnest by a drill. A resolved alert says how long it fired. The only
link is ``[broker] external_url`` (and runbooks); without it there is none. Custom title
and body templates (broker/notify/templates.py) replace the defaults: the route's, else
the receiver's.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from broker.notify import templates
from broker.notify.base import Notification, is_simulated, runbook_url
from core import units
from core.protocol import SEVERITY_RANK

SEVERITY_COLOUR = {"critical": "#d32f2f", "warning": "#f9a825", "info": "#1976d2",
                   "resolved": "#2e7d32"}


def tag(n: Notification) -> str:
    parts = []
    if n.kind == "test":
        parts.append("TEST")
    if n.simulated:
        parts.append("SIMULATED")
    if n.kind == "escalation":
        parts.append("ESCALATED")
    return " ".join(f"[{p}]" for p in parts)


def top_severity(n: Notification) -> str:
    sev = [a.get("severity", "info") for a in n.firing]
    if sev:
        return max(sev, key=lambda s: SEVERITY_RANK.get(s, 0))
    return "resolved" if n.resolved else "info"


def subject(n: Notification) -> str:
    """'[SIMULATED] [FIRING:2] high_cpu on web-1, web-2' — short, for subjects and SMS."""
    if n.kind == "test":
        return f"{tag(n)} test notification for receiver {n.receiver}"
    counts = f"FIRING:{len(n.firing)}" if n.firing else f"RESOLVED:{len(n.resolved)}"
    rules = sorted({str(a.get("rule", "")) for a in n.alerts if a.get("rule")})
    hosts = sorted({str(a.get("host", "")) for a in n.alerts if a.get("host")})
    what = ", ".join(rules[:3]) + (" …" if len(rules) > 3 else "")
    where = ", ".join(hosts[:3]) + (" …" if len(hosts) > 3 else "")
    text = f"[{counts}] {what}" + (f" on {where}" if where else "")
    if not n.firing and len(n.resolved) == 1:
        text += f" after {units.duration(fired_for(n.resolved[0], n.created_at))}"
    return f"{tag(n)} {text}".strip()


def fired_for(a: dict[str, Any], now: float) -> float:
    """Seconds from the start of the alert's episode to its resolve (or to ``now``)."""
    start = a.get("started_at") or 0.0
    end = a.get("resolved_at") if a.get("state") == "resolved" else None
    return max(0.0, float(end or now) - float(start)) if start else 0.0


def _when(ts: Any) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def alert_lines(a: dict[str, Any], runbook_template: str = "") -> list[tuple[str, str]]:
    """(label, value) pairs describing one alert, in reading order."""
    state = "RESOLVED" if a.get("state") == "resolved" else str(a.get("severity", "")).upper()
    rows = [("Alert", f"{a.get('rule', '')} [{state}]"), ("Host", str(a.get("host", "")))]
    if a.get("summary"):
        rows.append(("Summary", str(a["summary"])))
    if a.get("value") is not None:
        val = alert_value(a)
        if a.get("metric"):
            val = f"{a['metric']} = {val}"
        rows.append(("Value", val))
    if a.get("description"):
        rows.append(("Description", str(a["description"])))
    rows.append(("Started", _when(a.get("started_at"))))
    if a.get("state") == "resolved":
        rows.append(("Resolved", _when(a.get("resolved_at"))))
        if a.get("started_at") and a.get("resolved_at"):
            rows.append(("Fired for", units.duration(fired_for(a, 0.0))))
    rb = runbook_url(a, runbook_template)
    if rb:
        rows.append(("Runbook", rb))
    if is_simulated(a):
        rows.append(("Note", "SIMULATED alert (drill), no action needed"))
    return [(k, v) for k, v in rows if v]


def alert_value(a: dict[str, Any]) -> str:
    """``97 % (threshold 90 %)``, or an anomaly's ``64 % (expected 12–18 %)``."""
    if a.get("value") is None:
        return ""
    metric = str(a.get("metric") or "")
    val = _val(a.get("value"), metric)
    exp = a.get("expected")
    if isinstance(exp, list) and len(exp) == 2:
        val += f" (expected {units.value_range(exp[0], exp[1], metric)})"
    elif a.get("threshold") is not None:
        val += f" (threshold {_val(a.get('threshold'), metric)})"
    return val


def text_body(n: Notification, runbook_template: str = "", template: str = "") -> str:
    if template:
        return render_template(template, n, {"runbook_url": runbook_template}).rstrip() + "\n"
    lines = [subject(n), ""]
    if n.kind == "test":
        lines.append(f"This is a TEST message sent to receiver '{n.receiver}'. "
                     "If you read it, the channel works.")
    for title, group in (("Firing", n.firing), ("Resolved", n.resolved)):
        if not group or n.kind == "test":
            continue
        lines.append(f"{title} ({len(group)}):")
        for a in group:
            lines += [f"  {k}: {v}" for k, v in alert_lines(a, runbook_template)]
            lines.append("")
    if n.external_url:
        lines.append(f"Console: {n.external_url}")
    return "\n".join(lines).rstrip() + "\n"


def html_body(n: Notification, runbook_template: str = "", template: str = "") -> str:
    esc = html.escape
    if template:
        text = render_template(template, n, {"runbook_url": runbook_template})
        return f"<html><body><pre>{esc(text)}</pre></body></html>"
    colour = SEVERITY_COLOUR.get(top_severity(n), "#1976d2")
    out = [f'<html><body><h2 style="color:{colour}">{esc(subject(n))}</h2>']
    if n.kind == "test":
        out.append(f"<p>This is a <b>TEST</b> message sent to receiver "
                   f"<code>{esc(n.receiver)}</code>.</p>")
    for title, group in (("Firing", n.firing), ("Resolved", n.resolved)):
        if not group or n.kind == "test":
            continue
        out.append(f"<h3>{title} ({len(group)})</h3>")
        for a in group:
            out.append('<table border="0" cellpadding="2">')
            for k, v in alert_lines(a, runbook_template):
                cell = f'<a href="{esc(v)}">{esc(v)}</a>' if k == "Runbook" else esc(v)
                out.append(f"<tr><th align=left>{esc(k)}</th><td>{cell}</td></tr>")
            out.append("</table><hr>")
    if n.external_url:
        out.append(f'<p><a href="{esc(n.external_url)}">Open the console</a></p>')
    out.append("</body></html>")
    return "\n".join(out)


def short_text(n: Notification, limit: int = 160, template: str = "") -> str:
    """One SMS (160 characters by default): subject plus the first alert's summary, or
    the body template rendered; cut with an ellipsis past ``limit``."""
    if template:
        text = " ".join(render_template(template, n).split())
    else:
        text = subject(n)
        group = n.firing or n.resolved
        if group and n.kind != "test":
            a = group[0]
            if a.get("summary") and n.firing:
                text += f": {a['summary']}"
            elif a.get("value") is not None and n.firing:
                text += f": {a.get('metric', 'value')}={_val(a['value'], str(a.get('metric', '')))}"
        link = n.external_url
        if link and len(link) + 40 <= limit:  # the console link, room kept for it
            room = limit - len(link) - 1
            text = (text if len(text) <= room else text[: room - 1] + "…") + " " + link
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _val(v: Any, metric: str) -> str:
    return units.value(float(v), metric) if isinstance(v, int | float) else str(v)


# -- templates ------------------------------------------------------------------------------

def title(n: Notification, settings: dict[str, Any]) -> str:
    """The route's title template, else the receiver's, else the default subject."""
    t = n.title_template or settings.get("title") or ""
    return " ".join(render_template(t, n, settings).split()) if t else subject(n)


def body_template(n: Notification, settings: dict[str, Any]) -> str:
    return n.body_template or settings.get("body") or ""


def render_template(text: str, n: Notification, settings: dict[str, Any] | None = None) -> str:
    """Render a (checked) template over the notification; a template that fails to parse
    now (it was checked at load) renders as its source text rather than losing the page."""
    try:
        nodes = templates.parse(text)
    except templates.TemplateError:
        return text
    return templates.render(nodes, context(n, (settings or {}).get("runbook_url", "")))


def context(n: Notification, runbook_template: str = "") -> dict[str, Any]:
    def one(a: dict[str, Any]) -> dict[str, Any]:
        out = dict(a)
        out["duration"] = fired_for(a, n.created_at)
        out["runbook_url"] = runbook_url(a, runbook_template)
        exp = a.get("expected")
        out["expected"] = units.value_range(exp[0], exp[1], str(a.get("metric") or "")) \
            if isinstance(exp, list) and len(exp) == 2 else ""
        out.setdefault("labels", {})
        return out
    firing_, resolved_ = [one(a) for a in n.firing], [one(a) for a in n.resolved]
    return {
        "title": subject(n), "status": n.status, "receiver": n.receiver,
        "simulated": n.simulated, "test": n.kind == "test", "tag": tag(n),
        "firing": firing_, "resolved": resolved_, "alerts": firing_ + resolved_,
        "count": len(n.alerts), "count_firing": len(firing_),
        "count_resolved": len(resolved_), "group_labels": dict(n.group_labels),
        "rules": ", ".join(sorted({str(a.get("rule", "")) for a in n.alerts})),
        "hosts": ", ".join(sorted({str(a.get("host", "")) for a in n.alerts if a.get("host")})),
        "link": n.external_url,
    }
