"""Control ``fleet_at`` (rewind) against a real broker process over a real store.

The store is seeded before the broker starts, through the store's own API: two hours of
minute samples for three hosts (``Store.record_metrics`` under a clock at the moment), a
sample three days back (read at 1 h resolution), an incident whose events the real
alert engine produced (``AlertEngine.on_sample`` / ``ack``) written with ``Store.put``, and
an alert pending for 45 minutes (a rule with ``for = "1h"``, in the broker's rules too). A
simulated agent then feeds the broker live, so hosts known now but silent then show as
unknown, and the minute not yet written is read from memory.
"""

from __future__ import annotations

import itertools
import time
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import zmq

from broker.alerting.engine import AlertEngine
from broker.alerting.rules import parse_rules
from broker.store.store import Store
from core import protocol
from core.clock import FakeClock
from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration
_ids = itertools.count()
HOSTS = ("db-1", "web-1", "web-2")
NOW = float(int(time.time()) // 60 * 60)  # the seeding's "now": a minute boundary
INCIDENT = NOW - 3600  # db-1 pinned from 70 to 50 minutes before NOW
DAYS_AGO = (NOW - 3 * 86400) // 3600 * 3600  # an hour boundary: both samples in one hour
BACKLOG = -45  # web-1's queue backs up at this minute: pending (for = "1h") until NOW
RULES = resources.files("broker.alerting").joinpath("default_rules.toml").read_text() + """
[[rule]]
name = "queue_backlog"
kind = "threshold"
metric = "queue.depth"
op = ">"
warning = 1000
for = "1h"
summary = "queue on {host} at {value:.0f}"
"""


def cpu(host: str, minute: int) -> float:
    """db-1's CPU is pinned from minute -70 to -50; web-2 stops at minute -80."""
    if host == "db-1" and -70 <= minute <= -50:
        return 99.0
    return 20.0 + HOSTS.index(host) * 10 + (minute % 5)


def seed(path: Path) -> None:
    clock = FakeClock(NOW - 7200)
    store = Store(path, clock=clock).open()
    store.start()
    engine = AlertEngine(parse_rules(tomllib.loads(RULES)["rule"], "rules.toml"))
    store.record_metrics("db-1", {"cpu.percent": 42.0, "mem.percent": 50.0}, DAYS_AGO + 60)
    store.record_metrics("db-1", {"cpu.percent": 44.0, "mem.percent": 52.0}, DAYS_AGO + 120)
    for minute in range(-120, 0):
        ts = NOW + minute * 60
        clock.advance(ts - clock.time())
        for host in HOSTS:
            if host == "web-2" and minute > -80:
                continue
            metrics = {"cpu.percent": cpu(host, minute), "mem.percent": 50.0,
                       "proc.count": 100.0}
            if host == "web-1":
                metrics["queue.depth"] = 5000.0 if minute >= BACKLOG else 10.0
            for second in (0, 30):  # two samples a minute: the bucket's average is read
                value = {**metrics, "cpu.percent": metrics["cpu.percent"] + second / 30}
                store.record_metrics(host, value, ts + second)
                for event in engine.on_sample(host, value, {}, ts + second):
                    store.put(event)
            for event in engine.tick(ts + 30):
                store.put(event)
        if minute == -60:
            [firing] = [a for a in engine.alerts() if a["state"] == "firing" and a["host"] == "db-1"]
            for event in engine.ack(firing["id"], "ana", "failing over", True, None, ts + 40):
                store.put(event)
    clock.advance(NOW - clock.time())
    assert store.flush()
    store.stop()


class Ask:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.control = broker.endpoints["control"]

    def __call__(self, **args: Any) -> dict[str, Any]:
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        try:
            sock.connect(self.control)
            sock.send(protocol.request(f"f{next(_ids)}", "fleet_at", **args))
            assert sock.poll(10_000), "no reply to fleet_at"
            return protocol.unpack_reply(sock.recv())
        finally:
            sock.close(linger=0)
            ctx.term()


@pytest.fixture(scope="module")
def ask(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ask]:
    data = tmp_path_factory.mktemp("rewind")
    seed(data / "events.db")
    (data / "rules.toml").write_text(RULES)
    broker = Broker(data, "--rules", str(data / "rules.toml"))
    agent = start_agent(broker.endpoints["ingest"], "--simulate", "2", "--no-incidents")
    try:
        wait_for(lambda: len(broker.ctl_json("hosts")) >= 2, timeout=20, what="live hosts")
        # web-2 reports again (a push): known now, so looked for further back than a minute
        assert broker.ctl("push", "web-2", "cpu.percent=1").returncode == 0
        wait_for(lambda: "web-2" in {h["host"] for h in broker.ctl_json("hosts")},
                 timeout=10, what="web-2 known")
        yield Ask(broker)
    finally:
        stop_proc(agent)
        broker.stop()


def hosts(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert reply["ok"], reply.get("error")
    return {h["host"]: h for h in reply["result"]["hosts"]}


def test_metrics_at_a_moment_are_its_minute_bucket(ask: Ask) -> None:
    t = INCIDENT + 15  # inside minute -60
    reply = ask(ts=t)
    got = hosts(reply)
    result = reply["result"]
    assert result["as_of"] == t and result["step"] == "1m"
    assert set(result) >= {"pseq", "nseq", "brief", "ts", "broker", "hosts", "alerts",
                           "events"}  # a snapshot's keys, plus as_of and step
    assert got["db-1"]["status"] == "up"
    assert got["db-1"]["metrics"]["cpu.percent"] == pytest.approx(99.5)  # (99 + 100) / 2
    assert got["web-1"]["metrics"]["cpu.percent"] == pytest.approx(cpu("web-1", -60) + 0.5)
    assert len(got["db-1"]["history"]["cpu.percent"]) == 60  # the hour up to the moment
    assert got["web-2"]["status"] == "unknown" and got["web-2"]["metrics"] == {}  # quiet
    live = [h for h in got if h not in HOSTS]
    assert len(live) == 2 and all(got[h]["status"] == "unknown" for h in live)


def test_a_host_that_went_quiet_is_down_then_unknown(ask: Ask) -> None:
    got = hosts(ask(ts=NOW - 78 * 60 + 10))  # two minutes after web-2's last sample
    assert got["web-2"]["status"] == "down" and got["web-2"]["metrics"]["cpu.percent"] > 0
    assert got["web-2"]["last_seen"] == NOW - 80 * 60 + 60


def test_alerts_at_a_moment_with_their_ack(ask: Ask) -> None:
    before = ask(ts=NOW - 75 * 60)["result"]["alerts"]
    assert not [a for a in before if a["host"] == "db-1"]
    during = {a["host"]: a for a in ask(ts=INCIDENT + 50)["result"]["alerts"]}
    assert during["db-1"]["state"] == "firing" and during["db-1"]["rule"] == "high_cpu_usage"
    assert during["db-1"]["acked"] and during["db-1"]["ack"]["author"] == "ana"
    unacked = {a["host"]: a for a in ask(ts=INCIDENT + 30)["result"]["alerts"]}
    assert unacked["db-1"]["state"] == "firing" and not unacked["db-1"]["acked"]
    after = {a["host"]: a for a in ask(ts=NOW - 40 * 60)["result"]["alerts"]}
    assert after["db-1"]["state"] == "resolved"  # resolved 10 minutes before: still listed
    gone = [a for a in ask(ts=NOW - 20 * 60)["result"]["alerts"] if a["host"] == "db-1"]
    assert not gone


def test_an_alert_pending_longer_than_15_minutes_is_listed_pending(ask: Ask) -> None:
    def backlog(t: float) -> list[dict[str, Any]]:
        return [a for a in ask(ts=t)["result"]["alerts"] if a["rule"] == "queue_backlog"]

    assert not backlog(NOW + (BACKLOG - 1) * 60)  # not yet
    for minutes in (5, 25, 40):  # its only event is the one that made it pending
        [alert] = backlog(NOW + (BACKLOG + minutes) * 60)
        assert alert["host"] == "web-1" and alert["state"] == "pending", (minutes, alert)


def test_days_back_reads_the_hour_rollups(ask: Ask) -> None:
    reply = ask(ts=DAYS_AGO + 150)
    got = hosts(reply)
    assert reply["result"]["step"] == "1h"
    assert got["db-1"]["metrics"]["cpu.percent"] == pytest.approx(43.0)


def test_the_minute_not_yet_written_comes_from_memory(ask: Ask) -> None:
    got = hosts(ask(ts=time.time()))
    live = [h for h in got if h not in HOSTS]
    assert live and all(got[h]["status"] == "up" and got[h]["metrics"] for h in live)


def _in(seconds: float) -> float:
    return time.time() + seconds


@pytest.mark.parametrize(("args", "error"), [
    (lambda: {"ts": "yesterday"}, "fleet_at: 'ts' must be a moment in unix seconds (a number), "
                                  "not 'yesterday'"),
    (lambda: {}, "fleet_at: 'ts' must be a moment in unix seconds"),
    (lambda: {"ts": True}, "fleet_at: 'ts' must be a moment in unix seconds"),
    (lambda: {"ts": float("nan")}, "fleet_at: 'ts' must be a moment in unix seconds"),
    (lambda: {"ts": _in(7000)}, "fleet_at: ts is 1h 56m"),  # "... in the future: ..."
    (lambda: {"ts": _in(-40 * 86400)}, "fleet_at: ts is 40d"),  # "... ago, before the store's
    (lambda: {"ts": _in(-10 * 86400)}, "fleet_at: no metrics recorded 10d"),  # retention"
    (lambda: {"ts": NOW - 60, "detail": "db-1"}, "fleet_at: 'detail' must be a list of host "
                                                 "names"),
])
def test_bad_moments_get_a_clear_error(ask: Ask, args: Any, error: str) -> None:
    reply = ask(**args())
    assert not reply["ok"] and reply["error"].startswith(error), reply
    words = {"1h 56m": "in the future", "40d": "before the store's retention (30d)",
             "recorded": "(the oldest is 3d"}
    assert all(w in reply["error"] for k, w in words.items() if k in error), reply
    assert ask(ts=NOW - 60)["ok"]  # and the broker answers the next one


def test_monitor_ctl_fleet_at(ask: Ask) -> None:
    out = ask.broker.ctl("fleet-at", f"{(time.time() - INCIDENT) / 60:.0f}m")
    assert out.returncode == 0, out.stderr
    assert "the fleet at" in out.stdout and "(1m rollups" in out.stdout
    db1 = [line for line in out.stdout.splitlines() if line.startswith("db-1 ")]
    assert len(db1) == 1 and " up " in db1[0]
    assert "high_cpu_usage" in out.stdout
    bad = ask.broker.ctl("fleet-at", "soon")
    assert bad.returncode != 0 and "AGO" in bad.stderr


def test_a_brief_picture_gives_full_metrics_to_the_detail_hosts_only(ask: Ask) -> None:
    reply = ask(ts=INCIDENT + 15, brief_above=1, detail=["db-1"])
    got = hosts(reply)
    assert reply["result"]["brief"]
    assert got["db-1"]["metrics"]["proc.count"] == 100.0 and got["db-1"]["history"]
    assert set(got["web-1"]["metrics"]) == {"cpu.percent", "mem.percent"}  # a row's worth
    assert got["web-1"]["history"] == {}
    full = hosts(ask(ts=INCIDENT + 15))  # 5 hosts known: under the default 100
    assert full["web-1"]["metrics"]["proc.count"] == 100.0


def test_a_brief_picture_of_the_minute_in_memory_is_brief_too(ask: Ask) -> None:
    """The newest minutes are read from memory (Rollups.open_rows), where every series of
    every host is: a brief picture cuts them as it cuts the stored ones. Uncut, a console
    rewinding a minute at 10,000 hosts received every series of every host (115 MB)."""
    now = time.time()
    live = [h for h in hosts(ask(ts=now)) if h not in HOSTS]
    assert len(live) == 2
    got = hosts(ask(ts=now, brief_above=1, detail=[live[0]]))
    full, row = got[live[0]]["metrics"], got[live[1]]["metrics"]
    assert "proc.count" in full and len(full) > 20  # the detail host: every series
    assert row and "proc.count" not in row and "cpu.percent" in row
    assert all(m in ("cpu.percent", "mem.percent", "swap.percent", "load.1", "load.5",
                     "load.15", "cpu.count") or m.startswith(("disk.", "net.")) for m in row)
    assert len(row) < len(full)
