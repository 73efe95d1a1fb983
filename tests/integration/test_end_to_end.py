"""Real broker and agent processes on loopback, read back through monitor-ctl --json."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from core import protocol
from tests.procs import Broker, command, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration


def hosts_named(broker: Broker, name: str) -> list[dict[str, Any]]:
    return [h for h in broker.ctl_json("hosts") if h["host"] == name]


def test_agent_process_shows_up_in_ctl_hosts_with_live_metrics(broker: Broker) -> None:
    """The 2 s figure is test_new_host_visible_within_2s_of_first_publish's; this one checks
    what a real agent process reports (a fresh interpreter: its start-up is not timed)."""
    agent = start_agent(broker.endpoints["ingest"], "--host", "e2e-host", "--interval", "0.2")
    try:
        # cpu.percent needs two readings, so it is there from the second sample on
        found = wait_for(lambda: [h for h in hosts_named(broker, "e2e-host")
                                  if "cpu.percent" in h["metrics"]], timeout=10, what="host")
        host = found[0]
        assert host["status"] == "up"
        assert abs(host["last_seen"] - time.time()) < 5
        for name in ("cpu.percent", "mem.percent", "load.1", "proc.count"):
            assert name in host["metrics"], name
        assert 0.0 <= host["metrics"]["cpu.percent"] <= 100.0
        # the metrics keep moving: last_seen advances with new samples
        first = host["last_seen"]
        wait_for(lambda: hosts_named(broker, "e2e-host")[0]["last_seen"] > first, timeout=3,
                 what="a newer sample")
    finally:
        stop_proc(agent)


@pytest.mark.serial  # a latency figure
def test_new_host_visible_within_2s_of_first_publish(broker: Broker) -> None:
    """The done-when figure: a frame published by another process is visible in under 2 s."""
    agent = start_agent(broker.endpoints["ingest"], "--host", "latency-host")
    try:
        wait_for(lambda: hosts_named(broker, "latency-host"), timeout=10, what="host")
        status = broker.ctl_json("status")
        assert status["hosts"] == 1 and status["hosts_up"] == 1
        seen = hosts_named(broker, "latency-host")[0]
        # last_seen is the agent's frame time; the broker had it when ctl asked
        assert time.time() - seen["last_seen"] < 2.0
    finally:
        stop_proc(agent)


def test_simulated_fleet_reaches_the_broker(broker: Broker) -> None:
    agent = start_agent(broker.endpoints["ingest"], "--simulate", "20", "--interval", "0.2")
    try:
        hosts = wait_for(lambda: len(broker.ctl_json("hosts")) >= 18 and broker.ctl_json("hosts"),
                         timeout=10, what="simulated hosts")
        assert all("cpu.percent" in h["metrics"] for h in hosts)
    finally:
        stop_proc(agent)


def test_garbage_on_ingest_is_rejected_counted_and_broker_keeps_serving(broker: Broker) -> None:
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(broker.endpoints["ingest"])
    good = protocol.metrics_frame("good-host", "agent-1", "boot-1", 0, time.time(),
                                  {"cpu.percent": 12.5})
    garbage = [
        [b"m.x", os.urandom(64)],                                     # random bytes
        [b"m.x", msgpack.packb([1, 2, 3])],                            # wrong shape
        [b"m.x", msgpack.packb({"v": 99, "kind": "metrics"})],         # wrong version
        [b"m.x", protocol.pack({**good, "metrics": {"cpu.percent": float("nan")}})],
        [b"m.x", protocol.pack({**good, "ts": time.time() - 3600})],  # clock far off
        [b"m.x", b"\x00" * (protocol.MAX_FRAME_BYTES + 1)],            # huge
        [b"only-one-part"],
        [b"m.x", protocol.pack(good), b"a third part"],                # three parts
    ]
    try:
        def flood() -> int:
            for parts in garbage:
                pub.send_multipart(parts)
            return broker.ctl_json("status")["ingest"]["rejected"]
        # the first sends can vanish before the subscription reaches us (slow joiner)
        wait_for(lambda: flood() >= len(garbage), timeout=10, what="rejections")
        status = broker.ctl_json("status")
        reasons = " | ".join(status["ingest"]["rejected_by_reason"])
        for needle in ("bad msgpack", "frame must be a map", "unsupported protocol version",
                       "is nan", "timestamp", "byte cap", "message parts"):
            assert needle in reasons, (needle, reasons)
        # and the broker still takes good frames (a new host is admitted on its second
        # frame, as an agent sends them: a rising seq)
        def send_good() -> None:
            good["seq"] += 1
            protocol.send_frame(pub, good)
        wait_for(lambda: send_good() or hosts_named(broker, "good-host"),
                 timeout=5, what="good frame after garbage")
        events = broker.ctl_json("search", "kind:ingest.rejected", "--limit", "5") \
            if status.get("store") else []
        assert broker.proc.poll() is None
        if status.get("store"):
            assert events and all(e["kind"] == "ingest.rejected" for e in events)
    finally:
        pub.close()
        ctx.term()


def test_ctl_times_out_with_a_clear_message_on_unreachable_broker() -> None:
    import subprocess

    started = time.monotonic()
    out = subprocess.run([*command("monitor-ctl"), "--control", "tcp://127.0.0.1:9",
                          "--json", "status"], capture_output=True, text=True, timeout=20)
    elapsed = time.monotonic() - started
    assert out.returncode != 0
    assert "no reply from broker at tcp://127.0.0.1:9" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert elapsed < 10


@pytest.mark.parametrize("cmd,args,needle", [
    ("monitor-ctl", ["--broker", "host:notaport", "status"], "is not a number"),
    ("monitor-ctl", ["frobnicate"], "invalid choice"),
    ("monitor-broker", ["--ingest", "nonsense"], "--ingest 'nonsense'"),
    ("monitor-broker", ["--port", "70000"], "out of range"),
    ("monitor-agent", ["--interval", "0"], "--interval"),
    ("monitor-agent", ["--broker", "a b"], "expected HOST or HOST:PORT"),
    ("monitor-agent", ["--broker", "no-such-host.invalid"], "cannot resolve host"),
    ("monitor-ctl", ["--broker", "no-such-host.invalid", "status"], "cannot resolve host"),
    # a negative or NaN timeout made ZeroMQ's poll wait forever: the ctl hung
    ("monitor-ctl", ["--control", "tcp://127.0.0.1:9", "--timeout", "-1", "status"],
     "--timeout -1: expected seconds"),
    ("monitor-ctl", ["--control", "tcp://127.0.0.1:9", "--timeout", "nan", "status"],
     "--timeout nan: expected seconds"),
])
def test_bad_flags_give_one_line_error(cmd: str, args: list[str], needle: str) -> None:
    import subprocess

    out = subprocess.run([*command(cmd), *args], capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert needle in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_json_flag_after_subcommand(broker: Broker) -> None:
    out = broker.ctl("status", "--json")
    assert out.returncode == 0, out.stderr
    assert '"pseq"' in out.stdout


def test_agent_started_before_its_broker_connects_when_it_comes(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a free port for the broker to take later
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ingest = f"tcp://127.0.0.1:{port}"
    agent = start_agent(ingest, "--host", "early-bird", "--interval", "0.2")
    try:
        assert agent.poll() is None  # no broker yet: the agent waits, it does not exit
        broker = Broker(tmp_path / "b", "--ingest", ingest)  # the last --ingest wins
        try:
            wait_for(lambda: hosts_named(broker, "early-bird"), timeout=10,
                     what="agent that started first")
        finally:
            broker.stop()
    finally:
        stop_proc(agent)
