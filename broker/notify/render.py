"""Human-readable text for a notification: subject, plain text, HTML, one-line SMS.

Every rendering of a simulated alert says SIMULATED, and a test message says TEST, so
nobody is paged in earnest by a drill.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from broker.notify.base import Notification, is_simulated, runbook_url
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
    return f"{tag(n)} {text}".strip()


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
        val = f"{a.get('value')}"
        if a.get("threshold") is not None:
            val += f" (threshold {a.get('threshold')})"
        if a.get("metric"):
            val = f"{a['metric']} = {val}"
        rows.append(("Value", val))
    if a.get("description"):
        rows.append(("Description", str(a["description"])))
    rows.append(("Started", _when(a.get("started_at"))))
    if a.get("state") == "resolved":
        rows.append(("Resolved", _when(a.get("resolved_at"))))
    rb = runbook_url(a, runbook_template)
    if rb:
        rows.append(("Runbook", rb))
    if is_simulated(a):
        rows.append(("Note", "SIMULATED alert (drill), no action needed"))
    return [(k, v) for k, v in rows if v]


def text_body(n: Notification, runbook_template: str = "") -> str:
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


def html_body(n: Notification, runbook_template: str = "") -> str:
    esc = html.escape
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


def short_text(n: Notification, limit: int = 320) -> str:
    """One SMS: subject plus the first alert's value."""
    text = subject(n)
    if n.firing and n.kind != "test":
        a = n.firing[0]
        if a.get("summary"):
            text += f": {a['summary']}"
        elif a.get("value") is not None:
            text += f": {a.get('metric', 'value')}={a['value']}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
