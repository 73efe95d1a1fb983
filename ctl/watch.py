"""``monitor-ctl watch``: the fleet digest once a second, and the metrics of chosen hosts.

Subscribes only to what it prints (core/subscriber.py): the digest, whose counts and top
hosts by ``--sort`` are shown, and with ``--hosts`` the metrics frames of those hosts.
``--json`` prints a JSON object a line: ``{"kind": "digest", "counts", "top": [rows]}`` and
``{"kind": "metrics", "host", "ts", "metrics"}``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from core import digest as fleet
from core.subscriber import Subscriber

COLUMNS = ("host", *fleet.COLUMNS)


def digest_rows(d: dict[str, Any], sort: str, top: int, match: str = "") -> list[dict[str, Any]]:
    by_name = {r["host"]: r for r in fleet.rows(d)}
    return [by_name[n] for n in fleet.order(d, sort, match=match)[:top]]


def render_digest(d: dict[str, Any], rows: list[dict[str, Any]], sort: str) -> str:
    c = d["counts"]
    lines = [f"{time.strftime('%H:%M:%S', time.localtime(d['ts']))}  {c['total']} hosts: "
             f"{c['up']} up, {c['down']} down, {c['alerting']} alerting  (by {sort})",
             f"{'HOST':<24}{'CPU':>6}{'MEM':>6}{'DISK':>6}{'RX/s':>10}{'TX/s':>10}"
             f"{'LOAD':>6}{'AL':>4}"]

    def f(v: Any, width: int, fmt: str = "{:.0f}") -> str:
        return ("-" if v is None else fmt.format(v)).rjust(width)

    for r in rows:
        lines.append(f"{r['host'][:23]:<24}{f(r['cpu'], 6)}{f(r['mem'], 6)}{f(r['disk'], 6)}"
                     f"{f(r['rx'], 10)}{f(r['tx'], 10)}{f(r['load'], 6, '{:.1f}')}"
                     f"{f(r['alerts'], 4)}")
    return "\n".join(lines)


def run(publish: str, curve: Any, *, hosts: list[str], sort: str, top: int, match: str,
        count: int, timeout: float, as_json: bool) -> int:
    """Print until ``count`` digests have been seen (0: until interrupted). 1 when the
    broker publishes nothing for ``timeout`` seconds."""
    if sort not in COLUMNS:
        raise ValueError(f"--sort {sort}: expected one of {', '.join(COLUMNS)}")
    seen = 0
    with Subscriber(publish, hosts=hosts, curve=curve) as sub:
        while count <= 0 or seen < count:
            frame = sub.recv(timeout)
            if frame is None:
                print(f"monitor-ctl: nothing from {publish} in {timeout:g} s (is the "
                      "broker running, and is this its publish endpoint?)", file=sys.stderr)
                return 1
            if frame["kind"] == "digest":
                seen += 1
                d = frame["digest"]
                rows = digest_rows(d, sort, top, match)
                print(json.dumps({"kind": "digest", "ts": d["ts"], "counts": d["counts"],
                                  "top": rows}) if as_json else render_digest(d, rows, sort))
            elif frame["kind"] == "metrics":
                if as_json:
                    print(json.dumps({"kind": "metrics", "host": frame["host"],
                                      "ts": frame["ts"], "metrics": frame["metrics"]}))
                else:
                    m = frame["metrics"]
                    print(f"{frame['host']}: " + "  ".join(
                        f"{k} {m[k]:g}" for k in sorted(m)[:12]))
            sys.stdout.flush()
    return 0
