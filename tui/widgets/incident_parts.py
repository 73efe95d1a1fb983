"""The incident view's sections as Rich text: facts, log lines (filtered), top processes.

Pure functions of the ``incident`` reply (broker/api/incident_ops.py) and the clock, so the
screen (tui/screens/incident.py) only places them and tests read them without a terminal.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text

from core import units
from core.incident_text import value_vs_threshold
from tui.format import SEV_LABEL, age, clock, printable
from tui.palette import style

LABEL_W = 10


def _row(t: Text, label: str, text: str | Text, text_style: str = "") -> None:
    t.append(f"{label:<{LABEL_W}}", style="bold")
    if not isinstance(text, Text):
        text = Text(printable(text), style=text_style, no_wrap=True, overflow="ellipsis")
    t.append_text(text)
    t.append("\n")


def title(alert: dict[str, Any], now: float, live: float | None = None) -> Text:
    """One line: severity, rule, host, state and age, the value (live when known)."""
    sev = str(alert.get("severity", ""))
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"{SEV_LABEL.get(sev, sev[:4].upper())} ", style=style(sev))
    t.append(printable(f"{alert.get('rule')} on {alert.get('host')}"), style="bold")
    start = float(alert.get("started_at") or now)
    t.append(f"  {alert.get('state')} {age(now - start)}  ")
    metric = str(alert.get("metric") or "")
    if live is not None and metric and alert.get("kind") not in ("host_down", "absent"):
        t.append(f"now {units.fmt_metric(metric, live)}  ", style=style("accent"))
    return t


def facts(inc: dict[str, Any], now: float) -> Text:
    """Rule and value vs threshold, since, ack, silences, inhibitions, notifications."""
    a: dict[str, Any] = inc.get("alert") or {}
    t = Text()
    _row(t, "rule", f"{a.get('rule')}  {a.get('severity')} {a.get('kind', 'threshold')}"
         + (f"  {a['summary']}" if a.get("summary") else ""))
    _row(t, "value", value_vs_threshold(a))
    start = float(a.get("started_at") or now)
    since = f"{clock(start)} ({units.duration(now - start)} ago)  {a.get('state')}"
    if a.get("state") == "resolved" and a.get("resolved_at"):
        since += f" at {clock(float(a['resolved_at']))}"
    if a.get("flapping"):
        since += "  flapping"
    _row(t, "since", since)
    ack = a.get("ack") or {}
    if a.get("acked"):
        text = f"by {ack.get('author') or '?'} at {clock(float(ack.get('ts') or now))}"
        if ack.get("comment"):
            text += f" \"{ack['comment']}\""
        _row(t, "acked", text + ("  sticky" if ack.get("sticky") else ""))
    else:
        _row(t, "acked", "no  (a: acknowledge)", style("muted"))
    silences = inc.get("silences") or []
    if not silences:
        _row(t, "silenced", "no  (x: silence)", style("muted"))
    for s in silences:
        _row(t, "silenced", f"{s.get('id')} {' '.join(s.get('matchers') or [])} by "
             f"{s.get('author') or '?'} until {clock(float(s.get('ends_at') or now))}"
             + (f" \"{s['comment']}\"" if s.get("comment") else ""), style("flag"))
    inh = inc.get("inhibitions") or []
    if a.get("inhibited") and not inh:
        _row(t, "inhibited", "yes", style("flag"))
    for i in inh:
        _row(t, "inhibited", f"by {i.get('rule')}: {i.get('source_rule')} on "
             f"{i.get('source_host')}", style("flag"))
    sent = inc.get("notifications") or []
    if not sent:
        _row(t, "notified", "nothing sent", style("muted"))
    for n in sent[:4]:
        status = str(n.get("status", ""))
        line = Text()
        line.append(printable(f"{n.get('receiver')} "))
        line.append(status, style=style("ok") if status == "delivered" else
                    style("critical") if status in ("failed", "misconfigured", "expired")
                    else style("warning"))
        when = n.get("delivered_at") or n.get("created")
        line.append(f" {clock(float(when))}" if isinstance(when, int | float) else "")
        if int(n.get("attempts") or 0) > 1:
            line.append(f" x{n['attempts']}")
        if n.get("error"):
            line.append(printable(f" {n['error']}"), style="dim")
        _row(t, "notified", line)
    if len(sent) > 4:
        _row(t, "", f"and {len(sent) - 4} more", style("muted"))
    t.rstrip()
    return t


def log_lines(inc: dict[str, Any], needle: str = "") -> tuple[Text, int]:
    """The host's log lines, oldest first, the alert's start marked between them; only those
    containing ``needle`` (any case) when given. Returns the text and the lines shown."""
    a: dict[str, Any] = inc.get("alert") or {}
    start = float(a.get("started_at") or 0.0)
    lines = inc.get("logs") or []
    low = needle.lower()
    t = Text(no_wrap=True, overflow="ellipsis")
    shown, marked = 0, False
    for e in lines:
        msg = printable(e.get("message", ""))
        if low and low not in msg.lower() and low not in str(e.get("severity", "")):
            continue
        if not marked and float(e.get("ts", 0.0)) >= start:
            t.append(f"──── alert started {clock(start)} ────\n", style=style("critical"))
            marked = True
        sev = str(e.get("severity", "info"))
        t.append(f"{clock(float(e.get('ts', 0.0)))} ", style="dim")
        label = SEV_LABEL.get(sev, "ERR" if sev == "error" else sev[:4].upper())
        t.append(f"{label:<4} ", style="" if sev == "info" else style(sev))
        t.append(msg + "\n")
        shown += 1
    if not marked and shown:
        t.append(f"──── alert started {clock(start)} ────\n", style=style("critical"))
    if not shown:
        t.append("no log line matches " + repr(needle) if needle and lines else
                 "no log lines from this host since 5 min before the start", style="dim")
    if inc.get("logs_more"):
        t.append("\n(more lines than shown: open the event log at the start with e)",
                 style="dim")
    t.rstrip()
    return t, shown


PROC_COLUMNS = (("pid", "right"), ("name", "left"), ("cpu", "right"), ("rss", "right"))
NAME_W = 14  # a process name is cut (with an ellipsis) past this


def _procs(snap: Any, heading: str) -> list[Text]:
    """One side of the processes section, a line a row: its title, a header, the top rows.
    Lines of plain Text, not a rich Table: the view measured and drew the Table on every
    open (7 ms a render at 78 columns, twice an open: its height, then its lines)."""
    if not isinstance(snap, dict) or not snap.get("top"):
        return [Text(f"{heading}: not recorded", style="dim")]
    rows = [(str(p.get("pid", "")), printable(p.get("name", "")),
             units.fmt(p.get("cpu_percent"), "%"), units.fmt(p.get("rss"), "B"))
            for p in snap["top"]]
    widths = [max(len(label), *(cell_len(r[i]) for r in rows))
              for i, (label, _) in enumerate(PROC_COLUMNS)]
    widths[1] = min(widths[1], NAME_W)
    lines = [Text(f"{heading} {clock(float(snap.get('ts') or 0.0))}", style="bold")]
    for cells, row_style in [(tuple(label for label, _ in PROC_COLUMNS), "bold"),
                             *((r, "") for r in rows)]:
        line = Text(" ", style=row_style, end="")
        for i, (cell, (_, justify), width) in enumerate(zip(cells, PROC_COLUMNS, widths,
                                                          strict=True)):
            text = Text(cell, style="dim" if i == 0 and not row_style else "")
            text.truncate(width, overflow="ellipsis")
            pad = " " * (width - text.cell_len)
            if justify == "right":
                line.append(pad)
            line.append_text(text)
            if justify == "left":
                line.append(pad)
            line.append("  " if i < len(PROC_COLUMNS) - 1 else " ")
        lines.append(line)
    return lines


def processes(inc: dict[str, Any]) -> Text:
    """Top processes at the start and now, side by side (two fit in 78 columns)."""
    procs = inc.get("processes") or {}
    left, right = _procs(procs.get("start"), "at the start"), _procs(procs.get("now"), "now")
    width = max(line.cell_len for line in left)
    out = Text(no_wrap=True, overflow="ellipsis")
    for i in range(max(len(left), len(right))):
        if i:
            out.append("\n")
        line = left[i] if i < len(left) else Text()
        out.append_text(line)
        if i < len(right):
            out.append(" " * (width - line.cell_len + 3))
            out.append_text(right[i])
    return out
