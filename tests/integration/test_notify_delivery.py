"""The outbox: retries, misconfiguration, expiry, rate limits, isolation, crash recovery."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from broker.notify.config import parse_notify_config
from broker.notify.dispatcher import Notifier
from core.clock import FakeClock
from tests.notify_servers import Recorder, alert, alert_event, poll

pytestmark = pytest.mark.integration
T0 = 1_700_000_000.0
ROOT = Path(__file__).resolve().parents[2]


def hook_toml(url: str, name: str = "hook", extra: str = "") -> str:
    return f'[[receiver]]\nname = "{name}"\ntype = "webhook"\nurl = "{url}"\n{extra}\n'


def make(tmp_path: Path, toml: str, clock: FakeClock, events: list) -> Notifier:
    cfg = parse_notify_config(tomllib.loads(toml), "broker.toml")
    return Notifier(cfg, tmp_path / "notify.db", clock=clock, emit=events.append)


def test_three_500s_then_success_delivers_exactly_once(tmp_path: Path) -> None:
    server = Recorder(codes=[500, 500, 500])
    clock, events = FakeClock(T0), []
    try:
        with make(tmp_path, hook_toml(server.url, extra='retry_initial = "2s"'), clock,
                  events) as n:
            nid = n.test_notify("hook")
            waits = []
            for _ in range(3):
                n.tick()
                (row,) = n.recent()
                assert row["status"] == "pending"
                waits.append(row["next_at"] - clock.time())
                n.tick()  # not due yet: no new attempt
                clock.advance(waits[-1])
            n.tick()
            n.tick()
            clock.advance(3600)
            n.tick()
            (row,) = n.recent()
            assert (row["status"], row["attempts"]) == ("delivered", 4)
        assert [r["code"] for r in server.requests] == [500, 500, 500, 200]
        assert {r["headers"]["x-monitor-notification-id"] for r in server.requests} == {nid}
        assert 1.6 <= waits[0] <= 2.4 and 3.2 <= waits[1] <= 4.8 and 6.4 <= waits[2] <= 9.6
        assert [(e["kind"], e["data"]["status"]) for e in events] == [
            ("notify.failed", "retrying")] * 3 + [("notify.sent", "delivered")]
        assert "HTTP 500" in events[0]["data"]["error"]
    finally:
        server.close()


def test_4xx_is_misconfigured_and_not_retried(tmp_path: Path) -> None:
    server = Recorder(codes=[404])
    clock, events = FakeClock(T0), []
    try:
        with make(tmp_path, hook_toml(server.url), clock, events) as n:
            n.test_notify("hook")
            for _ in range(5):
                n.tick()
                clock.advance(3600)
            (row,) = n.recent()
            assert row["status"] == "misconfigured" and "HTTP 404" in row["error"]
        assert len(server.requests) == 1
        (ev,) = events
        assert ev["kind"] == "notify.failed" and ev["severity"] == "critical"
    finally:
        server.close()


def test_expiry(tmp_path: Path) -> None:
    server = Recorder(codes=[503] * 100)
    clock, events = FakeClock(T0), []
    try:
        with make(tmp_path, hook_toml(server.url, extra='expire = "1h"\nretry_max = "10m"'),
                  clock, events) as n:
            n.test_notify("hook")
            for _ in range(30):
                n.tick()
                clock.advance(300)
            (row,) = n.recent()
            assert row["status"] == "expired"
        assert events[-1]["data"]["status"] == "expired"
        assert 5 <= len(server.requests) <= 13
    finally:
        server.close()


def test_rate_limit(tmp_path: Path) -> None:
    server = Recorder()
    clock, events = FakeClock(T0), []
    try:
        with make(tmp_path, hook_toml(server.url, extra='rate_limit = "2/1m"'), clock,
                  events) as n:
            for _ in range(5):
                n.test_notify("hook")
            n.tick()
            assert len(server.requests) == 2
            clock.advance(30)
            n.tick()
            assert len(server.requests) == 2
            clock.advance(30)
            n.tick()
            assert len(server.requests) == 4
            clock.advance(60)
            n.tick()
            assert len(server.requests) == 5
    finally:
        server.close()


def test_secrets_never_in_events_or_outbox(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    server = Recorder(codes=[500, 403, 500, 401])
    monkeypatch.setenv("HOOK_TOKEN", "bearer-SECRET-1")
    slack_url = f"{server.url}/services/T0/B0/slack-SECRET-2"
    toml = hook_toml(server.url, extra='bearer_token_env = "HOOK_TOKEN"') + f"""
[[receiver]]
name = "chat"
type = "slack"
url = "{slack_url}"
[[route]]
receiver = ["hook", "chat"]
group_wait = "0s"
"""
    clock, events = FakeClock(T0), []
    try:
        with make(tmp_path, toml, clock, events) as n:
            n.handle(alert_event(alert()))
            for _ in range(3):
                n.tick()
                clock.advance(600)
            rows = n.recent()
            assert sorted(r["status"] for r in rows) == ["misconfigured", "misconfigured"]
            dump = json.dumps(events) + json.dumps(rows) + json.dumps(n.stats())
        assert len(events) == 4
        assert "SECRET" not in dump and "/services/" not in dump
        db = (tmp_path / "notify.db").read_bytes()
        assert b"bearer-SECRET-1" not in db and b"slack-SECRET-2" not in db
    finally:
        server.close()


def test_dead_channel_never_blocks_others(tmp_path: Path) -> None:
    """A receiver that accepts connections but never answers; the other one is on time."""
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(16)
    alive = Recorder()
    toml = (hook_toml(f"http://127.0.0.1:{dead.getsockname()[1]}/x", "dead", 'timeout = "3s"')
            + hook_toml(alive.url, "alive")
            + '[[route]]\nreceiver = ["dead", "alive"]\ngroup_wait = "0s"\n')
    cfg = parse_notify_config(tomllib.loads(toml), "broker.toml")
    events: list = []
    n = Notifier(cfg, tmp_path / "notify.db", emit=events.append)
    try:
        n.start()
        for i in range(3):
            n.handle(alert_event(alert(f"a{i}", host=f"web-{i}")))
        # all three reach the live receiver well before the dead one's first timeout
        poll(lambda: n.stats()["receivers"]["alive"]["delivered"] == 3, timeout=2.5)
        counts = n.stats()["receivers"]
        assert counts["dead"]["pending"] == 3 and counts["dead"]["failures"] == 0
    finally:
        n.stop()
        dead.close()
        alive.close()


CHILD = r"""
import sys, tomllib, time
from broker.notify.config import parse_notify_config
from broker.notify.dispatcher import Notifier
from tests.notify_servers import alert, alert_event
url, db, phase = sys.argv[1], sys.argv[2], sys.argv[3]
toml = f'''
[[receiver]]
name = "hook"
type = "webhook"
url = "{url}"
retry_initial = "20ms"
retry_max = "50ms"
[[route]]
receiver = "hook"
group_wait = "0s"
'''
n = Notifier(parse_notify_config(tomllib.loads(toml), "t"), db)
n.start()
if phase == "1":
    for i in range(6):
        n.handle(alert_event(alert(f"a{i}", host=f"web-{i}"), ts=time.time()))
    while sum(1 for r in n.recent() if r["status"] == "pending" and r["attempts"] >= 2) < 4:
        time.sleep(0.01)  # poll
print("ready", flush=True)
sys.stdin.read()  # until killed, or stdin closes
n.stop()
"""


def _child(url: str, db: Path, phase: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", CHILD, url, str(db), phase], cwd=ROOT, env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    return p


def test_killed_notifier_delivers_pending_after_restart_exactly_once(tmp_path: Path) -> None:
    server = Recorder(codes=[200, 200] + [503] * 10_000)
    db = tmp_path / "notify.db"
    try:
        p = _child(server.url, db, "1")
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        p.stdin.close()  # type: ignore[union-attr]
        p.stdout.close()  # type: ignore[union-attr]
        before = [r["headers"]["x-monitor-notification-id"] for r in server.ok()]
        assert len(before) == 2
        server.codes.clear()  # the service is back
        p = _child(server.url, db, "2")
        try:
            oks = poll(lambda: len(server.ok()) >= 6 and server.ok(), timeout=15)
        finally:
            p.communicate(timeout=10)
        ids = Counter(r["headers"]["x-monitor-notification-id"] for r in oks)
        assert len(ids) == 6 and set(ids.values()) == {1}, ids
        hosts = sorted(json.loads(r["body"])["alerts"][0]["labels"]["host"] for r in oks)
        assert hosts == [f"web-{i}" for i in range(6)]
    finally:
        server.close()


def test_reconfigure_on_a_fake_clock_keeps_queued_rows_and_follows_new_routes(
        tmp_path: Path) -> None:
    a, b = Recorder(codes=[503]), Recorder()
    clock, events = FakeClock(T0), []
    route = '[[route]]\nreceiver = "{}"\ngroup_wait = "0s"\n'
    first = hook_toml(a.url, "a", 'retry_initial = "10s"') + route.format("a")
    second = hook_toml(b.url, "b") + route.format("b")
    try:
        with make(tmp_path, first, clock, events) as n:
            n.handle(alert_event(alert("x1")))
            n.tick()
            assert [r["code"] for r in a.requests] == [503]  # queued for a retry in ~10 s
            n.reconfigure(parse_notify_config(tomllib.loads(second), "broker.toml"))
            assert n.stats()["retired_receivers"] == ["a"]
            n.handle(alert_event(alert("x2", host="web-2")))
            n.tick()
            assert [json.loads(r["body"])["alerts"][0]["labels"]["host"]
                    for r in b.requests] == ["web-2"]
            clock.advance(20)
            n.tick()  # a's worker, retired, still delivers what it had
            assert [r["code"] for r in a.requests] == [503, 200]
            n.tick()
            assert n.stats()["retired_receivers"] == []
            row = [r for r in n.recent() if r["receiver"] == "b"][0]
            assert row["status"] == "delivered"
        assert sum(e["kind"] == "notify.sent" for e in events) == 2
    finally:
        a.close()
        b.close()
