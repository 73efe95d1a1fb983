"""Retiring hosts: a clean agent stop says goodbye, `monitor-ctl forget` retires a host."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from core import protocol
from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration

RULES = '''
[[rule]]
name = "host_down"
kind = "host_down"
for = "2s"
severity = "critical"
'''


def host(b: Broker, name: str) -> dict[str, Any] | None:
    return next((h for h in b.ctl_json("hosts") if h["host"] == name), None)


def test_a_clean_agent_stop_shows_stopped_with_an_info_event_and_no_page(
        tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    b = Broker(tmp_path / "data", "--rules", str(rules))
    agent = start_agent(b.endpoints["ingest"], "--host", "calm-1", "--interval", "0.2")
    try:
        wait_for(lambda: host(b, "calm-1"), 10, "the agent's host")
        stop_proc(agent)  # SIGTERM: a clean stop
        wait_for(lambda: (h := host(b, "calm-1")) and h["status"] == "stopped", 5, "stopped")
        ev = wait_for(lambda: b.ctl_json("search", "kind:host.stopped host:calm-1"), 5,
                      "the host.stopped event")
        assert ev[0]["severity"] == "info"
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.5:  # past host_down's 2 s
            assert not [a for a in b.ctl_json("alerts") if a["host"] == "calm-1"]
            time.sleep(0.25)  # poll
    finally:
        stop_proc(agent)
        b.stop()


def test_forget_retires_a_dead_host_and_resolves_its_page(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    b = Broker(tmp_path / "data", "--rules", str(rules))
    ctx: zmq.Context[Any] = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(b.endpoints["ingest"])
    seq = itertools.count()
    try:
        wait_for(lambda: protocol.send_frame(pub, protocol.metrics_frame(
            "old-1", "a", "b", next(seq), time.time(), {"cpu.percent": 1.0}))
            or host(b, "old-1"), 5, "old-1")
        a = wait_for(lambda: [a for a in b.ctl_json("alerts") if a["host"] == "old-1"
                              and a["state"] == "firing"], 10, "host_down on old-1")[0]
        assert a["rule"] == "host_down"
        out = b.ctl("forget", "old-1")
        assert out.returncode == 0, out.stderr
        assert host(b, "old-1") is None
        assert [x["state"] for x in b.ctl_json("alerts") if x["host"] == "old-1"] in (
            [], ["resolved"])
        assert b.ctl_json("search", "kind:host.forgotten host:old-1")
        bad = b.ctl("forget", "never-seen")
        assert bad.returncode == 1 and "no host named 'never-seen'" in bad.stderr
    finally:
        pub.close()
        ctx.term()
        b.stop()


def test_a_clean_broker_stop_logs_broker_stop(tmp_path: Path) -> None:
    import sqlite3

    b = Broker(tmp_path / "data")
    b.stop()  # SIGTERM
    conn = sqlite3.connect(f"file:{tmp_path / 'data' / 'events.db'}?mode=ro", uri=True)
    try:
        kinds = [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY seq")]
    finally:
        conn.close()
    assert kinds[0] == "broker.start" and kinds[-1] == "broker.stop", kinds
