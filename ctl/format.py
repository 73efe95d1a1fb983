"""Plain-text rendering of monitor-ctl results for people (``--json`` is for scripts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from core.config import format_duration
from core.units import fmt

KEY_METRICS = ("cpu.percent", "mem.percent", "load.1")


def _age(ts: float | None) -> str:
    return format_duration(time.time() - ts) + " ago" if ts else "-"


def _clock(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "(none)"
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in cells)


def _num(metrics: dict[str, float], name: str) -> str:
    v = metrics.get(name)
    return "-" if v is None else f"{v:.1f}"


def hosts(result: list[dict[str, Any]]) -> str:
    rows = [(h["host"], h["status"], _age(h["last_seen"]),
             *(_num(h["metrics"], m) for m in KEY_METRICS), len(h["metrics"]),
             _top_process(h.get("processes") or [])) for h in result]
    out = table(("HOST", "STATUS", "LAST SEEN", "CPU%", "MEM%", "LOAD1", "SERIES",
                 "TOP PROCESS"), rows)
    if len(result) == 1 and result[0].get("processes"):
        procs = sorted(result[0]["processes"], key=lambda p: -p["cpu_percent"])
        out += "\n\n" + table(("PID", "USER", "CPU%", "RSS MB", "THR", "NAME", "COMMAND"), [
            (p["pid"], p["user"] or "-", f"{p['cpu_percent']:.1f}", f"{p['rss'] / 2**20:.0f}",
             p["threads"], p["name"], p["cmd"][:60]) for p in procs])
    return out


def _top_process(procs: list[dict[str, Any]]) -> str:
    if not procs:
        return "-"
    p = max(procs, key=lambda p: p["cpu_percent"])
    return f"{p['name']}[{p['pid']}] {p['cpu_percent']:.0f}%"


def alerts(result: list[dict[str, Any]]) -> str:
    rows = []
    for a in result:
        marks = "".join(m for m, on in (("A", a.get("acked")), ("S", a.get("silenced")),
                                         ("F", a.get("flapping")), ("~", a.get("simulated")))
                        if on)
        value = a.get("value")
        rows.append((a["id"], a["severity"], a["state"], a["host"], a["rule"],
                     "-" if value is None else f"{value:.4g}", marks or "-",
                     (a.get("ack") or {}).get("author") or "-",
                     _age(a.get("started_at")), a.get("summary", "")))
    return table(("ID", "SEVERITY", "STATE", "HOST", "RULE", "VALUE", "FLAGS", "ACKED BY",
                  "SINCE", "SUMMARY"), rows)


def events(result: list[dict[str, Any]]) -> str:
    rows = [(_clock(e["ts"]), e["severity"], e["kind"], e.get("host") or "-", e["message"])
            for e in result]
    return table(("TIME", "SEVERITY", "KIND", "HOST", "MESSAGE"), rows)


def status(r: dict[str, Any]) -> str:
    ing = r["ingest"]
    lines = [f"broker up {format_duration(r['uptime'])}, publish seq {r['pseq']}",
             f"hosts: {r['hosts_up']} up of {r['hosts']}, {r['series']} series, "
             f"{r['alerts']} alerts",
             f"ingest: {ing['frames']} frames, {ing['rate']}/s, {ing['rejected']} rejected"]
    if ing.get("behind_s", 0) >= 2:  # a backlog on the ingest socket (FrameHandler.seen_by)
        lines.append(f"  behind: {ing['behind_s']:g}s since every frame sent was read; hosts' "
                     "silence is judged at that moment")
    for reason, n in sorted(ing["rejected_by_reason"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {n:>6}  {reason}")
    if ing.get("held_on_probation") or ing.get("log_lines_dropped"):
        lines.append(f"  new hosts held on probation: {ing.get('held_on_probation', 0)}, "
                     f"log lines over budget dropped: {ing.get('log_lines_dropped', 0)}")
    cv = r.get("curve") or {}
    if cv.get("refused"):
        lines.append(f"curve: {cv['refused']} handshakes refused ("
                     + ", ".join(f"{k} {n}" for k, n in sorted(cv["refused_by"].items())) + ")")
    st = r.get("store")
    if isinstance(st, dict) and st.get("state"):
        lines.append(f"store: {st['state']}" + (f" {st['reason']}" if st.get("reason") else "")
                     + (f" (outbox {st['outbox']})" if st.get("outbox") else ""))
        if st.get("schema_deferred"):  # a migration put off (disk full at start)
            lines.append(f"store: {st['schema_deferred']}")
        if st.get("shm") == "memory":  # opened on a full disk with no reserve left
            lines.append("store: opened on a full disk, its wal-index in memory: no other "
                         "process can open events.db until the broker restarts with room")
        if st.get("check") == "running":  # a big file's quick_check, beside the broker
            lines.append("store: integrity check running")
    elif "store" in r:
        lines.append("store: none (no data dir)")
    lines.append("endpoints: " + "  ".join(f"{k}={v}" for k, v in r["endpoints"].items()))
    sec = r.get("security") or {}
    if sec:
        lines.append(f"security: {sec['mode']}"
                     + (f", {sec['keys']} keys" if "keys" in sec else "")
                     + f", {sec['refused']} refused connections or frames")
        if sec.get("warning"):
            lines.append(f"  WARNING: {sec['warning']}")
        for reason, n in sorted(sec.get("refused_by_reason", {}).items(), key=lambda kv: -kv[1]):
            lines.append(f"  {n:>6}  {reason}")
    for c in r["supervisor"]:
        state = "up" if c["alive"] else "DOWN"
        lines.append(f"  {c['name']:<12} {state:<5} restarts={c['restarts']}"
                     + (f" last error: {c['last_error']}" if c["last_error"] else ""))
    return "\n".join(lines)


def silences(result: list[dict[str, Any]]) -> str:
    rows = [(s["id"], " ".join(s.get("matchers_text") or map(str, s.get("matchers", []))),
             _clock(s.get("ends_at")), s.get("author", ""), s.get("comment", ""))
            for s in result]
    return table(("ID", "MATCHERS", "ENDS", "AUTHOR", "COMMENT"), rows)


def rules(result: list[dict[str, Any]]) -> str:
    rows = [(r.get("name"), r.get("kind", ""), r.get("metric", ""), r.get("severity", ""))
            for r in result]
    return table(("RULE", "KIND", "METRIC", "SEVERITY"), rows)


def notifications(result: list[dict[str, Any]]) -> str:
    rows = [(n.get("id", ""), n.get("receiver", ""), n.get("status", ""),
             n.get("attempts", ""), _clock(n.get("updated_at") or n.get("created_at")),
             n.get("error", "") or n.get("title", "")) for n in result]
    return table(("ID", "RECEIVER", "STATUS", "TRIES", "UPDATED", "DETAIL"), rows)


def _silence(s: dict[str, Any]) -> str:
    matchers = " ".join(s.get("matchers_text") or map(str, s.get("matchers", [])))
    return f"silence {s.get('id')} until {_clock(s.get('ends_at'))}: {matchers}"


def _simulated(r: dict[str, Any]) -> str:
    ids = ", ".join(r.get("alert_ids") or []) or "no alert"
    return f"simulated {r.get('scenario')} on {r.get('host')}: {ids}"


def _fields(result: Any) -> str:
    """Anything else, for a person: ``key: value`` lines, never raw JSON."""
    if isinstance(result, dict):
        return "\n".join(f"{k}: {v}" for k, v in result.items()) or "(done)"
    if isinstance(result, list):
        return "\n".join(map(str, result)) or "(none)"
    return str(result)


def _history(points: list[dict[str, Any]], unit: str = "count") -> str:
    return table(("TIME", "MIN", "AVG", "MAX"),
                 [(_clock(p["ts"]), fmt(p["min"], unit), fmt(p["avg"], unit),
                   fmt(p["max"], unit)) for p in points])


def cluster(r: dict[str, Any]) -> str:
    lines = [f"this broker: {r.get('name')}, {r.get('entries', 0)} replicated entries, "
             f"{r.get('pending', 0)} waiting to apply, anti-entropy every "
             f"{r.get('anti_entropy_s', 0):g}s"]
    for node, lag in sorted(r.get("lag", {}).items()):
        lines.append(f"replication lag from {node}: p50 {lag['p50_ms']} ms, "
                     f"p99 {lag['p99_ms']} ms ({lag['samples']} entries)")
    rows = []
    for p in r.get("peers", []):
        last = p.get("last_sync") or {}
        sync = "-" if not last else (
            f"{len(last.get('fetched', []))} fetched, {len(last.get('pushed', []))} pushed"
            if last.get("ok") else f"failed: {last.get('error', '')}")
        ago = p.get("last_ok_ago")
        rows.append((p.get("name") or "?", p["endpoint"], p["state"],
                     "-" if ago is None else f"{ago:g}s ago", p.get("pushed", 0), sync,
                     p.get("last_error") or ""))
    lines.append(table(("PEER", "ENDPOINT", "STATE", "LAST OK", "PUSHED", "LAST SYNC",
                        "ERROR"), rows) if rows else "no peers")
    return "\n".join(lines)


def sync(r: dict[str, Any]) -> str:
    if not r.get("peers"):
        return str(r.get("message", "no peers"))
    lines = [f"{r.get('differences', 0)} entries differed"]
    for p in r["peers"]:
        who = p.get("name") or p["peer"]
        if not p.get("ok"):
            lines.append(f"  {who}: failed: {p.get('error', '')}")
            continue
        lines.append(f"  {who}: fetched {len(p['fetched'])}, pushed {len(p['pushed'])}")
        lines += [f"    <- {k}" for k in p["fetched"]] + [f"    -> {k}" for k in p["pushed"]]
    return "\n".join(lines)


def _incident(r: dict[str, Any]) -> str:
    from core.incident_text import summary

    logs = r.get("logs") or []
    return summary(r) + (f"\n({len(logs)} log lines from 5 min before the start; --json "
                         "for them, the timeline and the processes)" if logs else "")


RENDER: dict[str, Callable[[Any], str]] = {
    "cluster": cluster, "sync": sync,
    "hosts": hosts, "alerts": alerts, "search": events, "status": status,
    "silences": silences, "rules": rules, "notifications": notifications,
    "export": lambda r: r.rstrip("\n"),
    "push": lambda r: f"pushed {r['metrics']} metric(s) for {r['host']}",
    "history": _history,
    "fleet-at": lambda r: (f"the fleet at {_clock(r['as_of'])} ({r['step']} rollups; ages "
                           f"from now)\n{hosts(r['hosts'])}\n\n"
                           f"{alerts(r['alerts']) if r['alerts'] else 'no alerts then'}"),
    "incident": _incident,
    "ack": lambda r: f"acknowledged {r.get('alert_id')}",
    "unack": lambda r: f"acknowledgement removed from {r.get('alert_id')}",
    "silence": _silence,
    "unsilence": lambda r: f"silence {r.get('silence_id')} removed",
    "simulate": _simulated,
    "reload": lambda r: f"reloaded {r.get('rules')} rules",
    "test-notify": lambda r: f"test notification {r.get('id')} queued for {r.get('receiver')}",
}


def render(cmd: str, result: Any, metric: str = "") -> str:
    """A command's result for people; ``metric`` gives ``history`` its unit."""
    if cmd == "history" and metric:
        from core.units import unit_of

        return _history(result, unit_of(metric))
    fn = RENDER.get(cmd)
    if fn is not None:
        return fn(result)
    if isinstance(result, dict) and "message" in result:
        return str(result["message"])
    return _fields(result)
