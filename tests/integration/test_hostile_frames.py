"""Frames a real broker must refuse or absorb: look-alike host names, implausible seq jumps."""

from __future__ import annotations

import itertools
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from core import protocol
from tests.procs import ENV, Broker, command, wait_for

pytestmark = pytest.mark.integration


def frame(host: str, seq: int, agent: str = "a1") -> dict[str, Any]:
    return protocol.metrics_frame(host, agent, "boot-1", seq, time.time(), {"cpu.percent": 1.0})


def host(b: Broker, name: str) -> dict[str, Any] | None:
    return next((h for h in b.ctl_json("hosts") if h["host"] == name), None)


def test_lookalike_and_spaced_names_are_refused_by_broker_and_agent(tmp_path: Path) -> None:
    b = Broker(tmp_path / "data")
    ctx: zmq.Context[Any] = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(b.endpoints["ingest"])
    try:
        seq = itertools.count(1)
        wait_for(lambda: protocol.send_frame(pub, frame("web-01", next(seq)))
                 or host(b, "web-01"), 5, "the real host")
        for bad in ("w\u0435b-01", "web 01"):
            protocol.send_frame(pub, frame(bad, 1, agent="a2"))
        reasons = wait_for(lambda: (r := b.ctl_json("status")["ingest"]["rejected_by_reason"])
                           and sum(r.values()) >= 2 and r, 5, "two rejections")
        assert any("non-ASCII" in k for k in reasons) and any("space" in k for k in reasons)
        assert [h["host"] for h in b.ctl_json("hosts")] == ["web-01"]
        out = subprocess.run([*command("monitor-agent"), "--ingest", b.endpoints["ingest"],
                              "--host", "w\u0435b-01"], capture_output=True, text=True,
                             timeout=20, env=ENV)
        assert out.returncode != 0 and "U+0435" in out.stderr, out.stderr
    finally:
        pub.close()
        ctx.term()
        b.stop()


def test_a_seq_of_2_64_is_a_restart_not_a_gap_of_1_8e19(tmp_path: Path) -> None:
    b = Broker(tmp_path / "data")
    ctx: zmq.Context[Any] = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(b.endpoints["ingest"])
    try:
        seq = itertools.count(1)
        h = wait_for(lambda: protocol.send_frame(pub, frame("db-1", next(seq)))
                     or host(b, "db-1"), 5, "db-1")
        last = h["seq"]
        protocol.send_frame(pub, frame("db-1", 2**64 - 1))
        wait_for(lambda: host(b, "db-1")["restarts"] == 1, 5, "the jump counted")  # type: ignore[index]
        for n in (last + 5, last + 6, last + 9):  # the real sequence goes on; gaps detected
            protocol.send_frame(pub, frame("db-1", n))
        h = wait_for(lambda: (x := host(b, "db-1")) and x["seq"] == last + 9 and x, 5, "seq")
        assert h["gaps"] == 2 and h["restarts"] == 2, h
    finally:
        pub.close()
        ctx.term()
        b.stop()
