"""The contract between the console and the broker: every request the TUI sends, with every
step and range its screens use, run against a real broker process AND against FrozenSource.

Both must accept and refuse the same requests and answer with replies of the same shape, so
a green Pilot test on frozen data means the same keys work against the real thing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

from core import protocol
from core.chart_data import RANGES
from tests.procs import Broker, start_agent, stop_proc, wait_for
from tui.screens.events import PAGE
from tui.sources import frozen_data
from tui.sources.frozen import FrozenSource

pytestmark = pytest.mark.integration
_ids = itertools.count()


class Sides:
    """The same request to both sides; ``ids`` gives each side its own alert and host."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.frozen = FrozenSource()
        self.frozen.app = self  # type: ignore[assignment]  # replies come back through us
        self.replies: list[Any] = []
        hosts = broker.ctl_json("hosts")
        host = sorted(h["host"] for h in hosts)[0]
        [alert_id] = broker.ctl_json("simulate", "high_cpu_usage", "--host", host)["alert_ids"]
        self.ids = {"broker": {"host": host, "alert": alert_id, "now": None},
                    "frozen": {"host": "web-2", "alert": "a1c0ffee", "now": frozen_data.NOW}}

    def post_message(self, message: Any) -> bool:
        self.replies.append(message)
        return True

    def ask_broker(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(self.broker.endpoints["control"])
            sock.send(protocol.request(f"c{next(_ids)}", op, **args))
            assert sock.poll(10_000), f"broker: no reply to {op}"
            return protocol.unpack_reply(sock.recv())
        finally:
            sock.close(linger=0)
            ctx.term()

    def ask_frozen(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        self.replies.clear()
        req_id = self.frozen.request(op, dict(args))
        [reply] = [r for r in self.replies if getattr(r, "req_id", None) == req_id]
        return ({"ok": True, "result": reply.result} if reply.ok
                else {"ok": False, "error": reply.error})


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    b = Broker(tmp_path_factory.mktemp("contract"))
    agent = start_agent(b.endpoints["ingest"], "--simulate", "3", "--no-incidents")
    try:
        wait_for(lambda: len(b.ctl_json("hosts")) >= 3, timeout=20, what="hosts")
        s = Sides(b)
        # the store writes in batches: wait until the search side has the simulated alert
        wait_for(lambda: b.ctl_json("search", f"alert:{s.ids['broker']['alert']}"),
                 timeout=10, what="alert event stored")
        yield s
        s.frozen.stop()
    finally:
        stop_proc(agent)
        b.stop()


def _now(ids: dict[str, Any]) -> float:
    import time

    return ids["now"] if ids["now"] is not None else time.time()


Req = Callable[[dict[str, Any]], dict[str, Any]]

# name -> (op, args for one side's ids); each is a request some screen or key sends
REQUESTS: dict[str, tuple[str, Req]] = {
    "snapshot": ("snapshot", lambda i: {}),
    "status (heartbeat)": ("status", lambda i: {}),
    "rules (gauge thresholds, scenarios)": ("rules", lambda i: {}),
    **{f"history, host screen chart {name} ({step} step)": ("history", lambda i, s=span, st=step: {
        "host": i["host"], "metric": "cpu.percent", "since": _now(i) - s, "until": _now(i),
        "step": st, "recent": True}) for name, span, step in RANGES},
    "history, 1 h of 1 min rollups (the old host screen)": ("history", lambda i: {
        "host": i["host"], "metric": "cpu.percent", "since": _now(i) - 3600,
        "until": _now(i), "step": "1m"}),
    "history, 1 h step": ("history", lambda i: {
        "host": i["host"], "metric": "mem.percent", "since": _now(i) - 6 * 3600,
        "until": _now(i), "step": "1h"}),
    "history, a step the broker refuses": ("history", lambda i: {
        "host": i["host"], "metric": "cpu.percent", "since": _now(i) - 3600,
        "until": _now(i), "step": 60}),
    "history, a chart with the live tail (recent)": ("history", lambda i: {
        "host": i["host"], "metric": "cpu.percent", "since": _now(i) - 900, "until": _now(i),
        "step": "1m", "recent": True}),
    "history, 30 d chart (hourly rollups, recent)": ("history", lambda i: {
        "host": i["host"], "metric": "cpu.percent", "since": _now(i) - 30 * 86400,
        "until": _now(i), "step": "1h", "recent": True}),
    "history, since not a number": ("history", lambda i: {
        "host": i["host"], "metric": "cpu.percent", "since": "yesterday", "step": "1m"}),
    "thresholds, a chart's lines": ("thresholds", lambda i: {
        "host": i["host"], "metric": "cpu.percent", "windowed": True}),
    "thresholds, a bad metric": ("thresholds", lambda i: {"host": i["host"], "metric": 5}),
    "search, alert timeline": ("search", lambda i: {"query": f"alert:{i['alert']}",
                                                    "limit": 50}),
    "search, host logs": ("search", lambda i: {"query": f"host:{i['host']} kind:log",
                                               "limit": 20}),
    "search, event log page": ("search", lambda i: {"query": "kind:alert", "limit": PAGE}),
    "search, next page by time": ("search", lambda i: {
        "query": "kind:alert", "limit": PAGE, "before_ts": _now(i)}),
    "search, next page by seq": ("search", lambda i: {
        "query": "kind:alert", "limit": PAGE, "before_ts": _now(i), "before_seq": 10**9}),
    "search, refused query": ("search", lambda i: {"query": "hots:vm", "limit": PAGE}),
    "search, refused severity": ("search", lambda i: {"query": "severity:>=bad",
                                                      "limit": PAGE}),
    "fleet_at, rewind (t, [, ])": ("fleet_at", lambda i: {
        "ts": _now(i) - 1, "detail": [i["host"]], "brief_above": 100}),
    "fleet_at, a moment in the future": ("fleet_at", lambda i: {"ts": _now(i) + 3600}),
    "fleet_at, not a number": ("fleet_at", lambda i: {"ts": "-2h"}),
    "fleet_at, before retention": ("fleet_at", lambda i: {"ts": _now(i) - 40 * 86400}),
    "incident (enter on an alert)": ("incident", lambda i: {"alert_id": i["alert"]}),
    "incident, unknown alert": ("incident", lambda i: {"alert_id": "nope"}),
    "incident, not an id": ("incident", lambda i: {"alert_id": "a b"}),
    "ack": ("ack", lambda i: {"alert_id": i["alert"], "author": "ana", "comment": "on it",
                              "sticky": False}),
    "unack": ("unack", lambda i: {"alert_id": i["alert"], "author": "ana"}),
    "ack, unknown alert": ("ack", lambda i: {"alert_id": "nope", "author": "ana",
                                             "comment": "", "sticky": False}),
    "silence": ("silence", lambda i: {"matchers": [f"host={i['host']}", "rule=high_cpu_usage"],
                                      "duration": "30m", "comment": "", "author": "ana"}),
    "silence, no matcher": ("silence", lambda i: {"matchers": [], "duration": "1h",
                                                  "comment": "", "author": "ana"}),
    "silence, bad matcher": ("silence", lambda i: {"matchers": ["host=~("], "duration": "1h",
                                                   "comment": "", "author": "ana"}),
    "silence, bad duration": ("silence", lambda i: {"matchers": ["host=x"], "duration": "soon",
                                                    "comment": "", "author": "ana"}),
    "simulate": ("simulate", lambda i: {"name": "high_memory_usage", "host": i["host"]}),
    "simulate, unknown scenario": ("simulate", lambda i: {"name": "no_such_rule",
                                                          "host": i["host"]}),
    "forget, unknown host": ("forget", lambda i: {"host": "no-such-host", "author": "ana"}),
    "forget (F on the dashboard)": ("forget", lambda i: {"host": i["host"], "author": "ana"}),
}


def shape(value: Any, depth: int = 0) -> Any:
    """The type of a reply, with the keys of its maps (the first item of a list)."""
    if isinstance(value, dict):
        if depth >= 2:
            return "map"
        return {k: shape(v, depth + 1) for k, v in sorted(value.items())
                if k not in OPEN_MAPS}
    if isinstance(value, list):
        return ["list", shape(value[0], depth + 1)] if value else ["list"]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "str" if isinstance(value, str) else type(value).__name__


# maps whose keys are data (metric names, labels, per-kind event data), not shape
OPEN_MAPS = {"metrics", "history", "labels", "info", "data", "rejected_by_reason", "ack",
             # broker internals in ``status`` that the console does not read
             "store", "bus", "supervisor", "control", "endpoints"}


def comparable(a: Any, b: Any) -> bool:
    """Same shape; an empty list or a null matches any one (the data differ, not the form)."""
    if a == ["list"] or b == ["list"] or a == "NoneType" or b == "NoneType":
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(comparable(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(comparable(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("name", list(REQUESTS))
def test_broker_and_frozen_source_agree(sides: Sides, name: str) -> None:
    op, make = REQUESTS[name]
    real = sides.ask_broker(op, make(sides.ids["broker"]))
    frozen = sides.ask_frozen(op, make(sides.ids["frozen"]))
    assert real["ok"] == frozen["ok"], (
        f"{name}: broker {'accepts' if real['ok'] else 'refuses: ' + real.get('error', '')}, "
        f"frozen {'accepts' if frozen['ok'] else 'refuses: ' + frozen.get('error', '')}")
    if real["ok"]:
        a, b = shape(real["result"]), shape(frozen["result"])
        assert comparable(a, b), f"{name}: broker {a}\n  frozen {b}"
    else:
        assert real["error"].split(":")[0] == frozen["error"].split(":")[0] == op


def test_every_op_the_console_sends_is_covered() -> None:
    """A new request in the TUI needs a line above: grep the app and screens for calls."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "tui"
    sent = set()
    for path in root.rglob("*.py"):
        sent |= set(re.findall(r'\.call\(\s*"(\w+)"', path.read_text(encoding="utf-8")))
    sent |= {"snapshot", "status"}  # the link's own (tui/sources/session.py)
    covered = {op for op, _ in REQUESTS.values()}
    assert sent, "no requests found: the pattern is stale"
    assert sent <= covered, f"not in the contract: {sorted(sent - covered)}"
