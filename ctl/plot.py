"""``monitor-ctl history HOST METRIC --plot``: the console's trend chart in a plain terminal.

The same chart as the TUI's host screen (core/textchart.py, core/chart_data.py) from the
rollups plus the live samples the broker has not rolled up yet, with the value axis in the
metric's unit. A host or metric the broker does not know is one line and exit 1.
"""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import time
from typing import Any

from core.chart_data import series_of, step_for, summary
from core.cli import fail
from core.client import BrokerTimeout, ControlClient, ControlError
from core.config import ConfigError, parse_duration
from core.protocol import ProtocolError
from core.textchart import render
from core.units import fmt, unit_of

MAX_SPAN_S = 30 * 86400.0  # hourly rollups are kept 30 days


class PlotError(ValueError):
    """Bad input (a flag, an unknown host or metric): one line for the user."""


def params(host: str, metric: str, since: str, step: str | None, now: float
           ) -> dict[str, Any]:
    span = parse_duration(since, "--since")
    if not 0 < span <= MAX_SPAN_S:
        raise PlotError(f"--since {since}: expected a duration above 0, at most 30d "
                        "(the broker keeps hourly rollups 30 days)")
    return {"host": host, "metric": metric, "since": now - span, "until": now,
            "step": step or step_for(span), "recent": True}


def size(width: int | None, height: int | None) -> tuple[int, int]:
    term = shutil.get_terminal_size((80, 24))
    w = width if width is not None else min(term.columns, 120)
    h = height if height is not None else max(8, min(term.lines - 3, 20))
    if not 10 <= w <= 1000:
        raise PlotError(f"--width {w}: expected 10 to 1000 columns")
    if not 3 <= h <= 500:
        raise PlotError(f"--height {h}: expected 3 to 500 lines")
    return w, h


def fetch(clients: dict[str, ControlClient], req: dict[str, Any]
          ) -> tuple[dict[str, Any], ControlClient | None]:
    """The reply of the broker that knows the host (a sharded fleet: one of several), and
    that broker's client."""
    best: dict[str, Any] | None = None
    chosen: ControlClient | None = None
    last: Exception | None = None
    for client in clients.values():
        try:
            reply = client.request("history", **req)
        except BrokerTimeout as exc:
            last = exc
            continue
        if not isinstance(reply, dict):  # a broker from before ``recent``: rollups only
            reply = {"points": reply, "recent": [], "known": bool(reply), "metrics": []}
        rank = (bool(reply.get("known")), len(reply.get("points") or ()))
        if best is None or rank > (bool(best.get("known")), len(best.get("points") or ())):
            best, chosen = reply, client
    if best is None:
        raise last or BrokerTimeout("no broker answered")
    return best, chosen


def thresholds(client: ControlClient | None, host: str, metric: str
               ) -> list[tuple[float, str]]:
    """The levels of the threshold rules that apply to this host and metric: the console's
    dashed lines. None when the broker cannot say (an older one, a refusal): no lines."""
    if client is None:
        return []
    try:
        reply = client.request("thresholds", host=host, metric=metric, windowed=True)
    except (BrokerTimeout, ControlError, ProtocolError):
        return []
    lines: dict[float, str] = {}
    for t in reply.get("thresholds", []) if isinstance(reply, dict) else []:
        for level, label in (("warning", "warn"), ("critical", "crit")):
            v = t.get(level)
            if isinstance(v, int | float) and not isinstance(v, bool):
                lines[float(v)] = label
    return sorted(lines.items())


def check(reply: dict[str, Any], host: str, metric: str) -> None:
    if reply.get("points") or reply.get("recent"):
        return
    if not reply.get("known"):
        raise PlotError(f"no host {host!r} on the broker and no history for it "
                        "(monitor-ctl hosts lists the hosts)")
    names = reply.get("metrics") or []
    if metric not in names:
        close = difflib.get_close_matches(metric, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else \
            f" (it has {len(names)} metrics: monitor-ctl hosts --host {host})"
        raise PlotError(f"host {host!r} has no metric {metric!r}{hint}")


def chart(reply: dict[str, Any], host: str, metric: str, req: dict[str, Any], width: int,
          height: int, lines: list[tuple[float, str]] | None = None) -> str:
    unit = unit_of(metric)
    series = series_of(metric, reply, req["step"])
    span = req["until"] - req["since"]
    stats = summary(series)
    stat = ""
    if stats is not None:
        lo, avg, hi = stats
        stat = f"  min {fmt(lo, unit)}  avg {fmt(avg, unit)}  max {fmt(hi, unit)}"
    head = next((h for h in (f"{host} {metric}  last {_span(span)}{stat}",
                             f"{host} {metric}{stat}", f"{metric}{stat}", stat.strip())
                 if len(h) <= width), stat.strip())
    drawn = render([series], width=width, height=height - 1, unit=unit, t0=req["since"],
                   t1=req["until"], thresholds=lines or ())
    band = f"({req['step']} rollups: line avg, shade min..max; {len(reply.get('recent') or ())}" \
           " live samples)"
    return "\n".join([head[:width], *(line.rstrip() for line in drawn), band[:width]])


def _span(seconds: float) -> str:
    for size_, name in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size_ and seconds % size_ == 0:
            return f"{seconds / size_:g}{name}"
    return f"{seconds:g}s"


def run(clients: dict[str, ControlClient], args: Any) -> str:
    """The chart text; PlotError for bad input, BrokerTimeout/ControlError from the broker."""
    width, height = size(args.width, args.height)
    req = params(args.host, args.metric, args.since, args.step, time.time())
    reply, client = fetch(clients, req)
    check(reply, args.host, args.metric)
    return chart(reply, args.host, args.metric, req, width, height,
                 thresholds(client, args.host, args.metric))


def main(controls: dict[str, str], args: Any, curve: Any) -> int:
    """Print the chart; one line on stderr and exit 2 for a bad flag, 1 for anything else."""
    clients = {name: ControlClient(ep, timeout=args.timeout, curve=curve)
               for name, ep in controls.items()}
    try:
        print(run(clients, args))
        sys.stdout.flush()
    except (PlotError, ConfigError) as exc:
        fail("monitor-ctl", str(exc), 2 if str(exc).startswith("--") else 1)
    except (BrokerTimeout, ControlError, ProtocolError) as exc:
        fail("monitor-ctl", str(exc))
    except BrokenPipeError:  # `... --plot | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        for client in clients.values():
            client.close()
    return 0
