"""An incident (the ``incident`` op's reply) as one paragraph for a ticket.

The console's incident view copies it (`c`) and ``monitor-ctl incident`` prints it: the same
words in both. Times are UTC so a ticket reads the same in every timezone.
"""

from __future__ import annotations

import time
from typing import Any

from core import units


def utc(ts: float | None) -> str:
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _procs(snap: Any) -> str:
    if not isinstance(snap, dict) or not snap.get("top"):
        return "not recorded"
    return ", ".join(f"{p.get('name', '?')} ({p.get('pid', '?')}) "
                     f"{units.fmt(p.get('cpu_percent'), '%')} cpu "
                     f"{units.fmt(p.get('rss'), 'B')}" for p in snap["top"][:3])


def value_vs_threshold(alert: dict[str, Any]) -> str:
    """``cpu.percent 97.0% (threshold > 95.0%)`` in the metric's unit."""
    metric = str(alert.get("metric") or "")
    value, threshold = alert.get("value"), alert.get("threshold")
    text = f"{metric} {units.fmt_metric(metric, value)}" if metric else \
        units.fmt(value, "count")
    if alert.get("kind") in ("host_down", "absent", "log"):
        return text
    op = alert.get("op") or ">"
    return f"{text} (threshold {op} {units.fmt_metric(metric, threshold)})"


def summary(inc: dict[str, Any]) -> str:
    """One paragraph: what, where, since when, the value against the threshold, who acked,
    what mutes it, what was sent, the top processes, the host's other alerts."""
    a: dict[str, Any] = inc.get("alert") or {}
    now = float(inc.get("now") or time.time())
    start = float(a.get("started_at") or now)
    end = a.get("resolved_at") if a.get("state") == "resolved" else None
    took = units.duration((end or now) - start)
    when = (f"resolved: started {utc(start)}, lasted {took}, resolved {utc(end)}" if end else
            f"{a.get('state')} since {utc(start)} ({took})")
    parts = [f"{str(a.get('severity', '')).upper()} {a.get('rule')} on {a.get('host')}: "
             f"{when}; {value_vs_threshold(a)}."]
    if a.get("summary"):
        parts.append(f"{a['summary']}.")
    ack = a.get("ack") or {}
    if a.get("acked"):
        parts.append(f"Acknowledged by {ack.get('author') or '?'} at {utc(ack.get('ts'))}"
                     + (f" (\"{ack['comment']}\")." if ack.get("comment") else "."))
    else:
        parts.append("Not acknowledged.")
    for s in inc.get("silences") or []:
        parts.append(f"Silenced by {s.get('id')} ({' '.join(s.get('matchers') or [])}, by "
                     f"{s.get('author') or '?'}, until {utc(s.get('ends_at'))}).")
    for i in inc.get("inhibitions") or []:
        parts.append(f"Inhibited by rule {i.get('rule')}: {i.get('source_rule')} on "
                     f"{i.get('source_host')} ({i.get('source')}).")
    sent = inc.get("notifications") or []
    if sent:
        by: dict[str, int] = {}
        for n in sent:
            key = f"{n.get('receiver')} {n.get('status')}"
            by[key] = by.get(key, 0) + 1
        parts.append("Notifications: " + ", ".join(f"{k} x{v}" if v > 1 else k
                                                    for k, v in by.items()) + ".")
    else:
        parts.append("No notifications sent.")
    procs = inc.get("processes") or {}
    parts.append(f"Top processes at the start: {_procs(procs.get('start'))}; "
                 f"now: {_procs(procs.get('now'))}.")
    others = inc.get("others") or []
    active = [o for o in others if o.get("state") in ("firing", "pending")]
    parts.append(f"Other alerts on {a.get('host')}: " + (", ".join(
        f"{o.get('rule')} ({o.get('severity')}, {o.get('state')})" for o in active[:5])
        if active else "none") + ".")
    parts.append(f"Alert {a.get('id')}" + (f", episode {a['episode']}." if a.get("episode")
                                            else "."))
    return " ".join(p.replace("\n", " ") for p in parts)
