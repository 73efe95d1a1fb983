"""A forget on one broker of a pair retires the host on the other, also on a broker that was
down at the time; a host that reports again afterwards comes back on both."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import zmq

from core import protocol
from tests.procs import Broker, stop_all, wait_for

pytestmark = pytest.mark.integration

CONFIG = '''
[cluster]
name = "{name}"
anti_entropy = "1s"

[[rule]]
name = "x_high"
kind = "threshold"
metric = "x"
op = ">"
critical = 50.0
for = "0s"
'''


def start(tmp: Path, name: str, data: str, *extra: str) -> Broker:
    cfg = tmp / f"{name}.toml"
    cfg.write_text(CONFIG.format(name=name))
    return Broker(tmp / data, "--config", str(cfg), *extra)


def hosts(b: Broker) -> set[str]:
    return {h["host"] for h in b.ask("hosts")}


def firing(b: Broker, host: str) -> bool:
    return any(a["host"] == host and a["state"] == "firing" for a in b.ask("alerts"))


def joined(b: Broker) -> bool:
    peers = b.ask("cluster")["peers"]
    return bool(peers) and all(p["state"] == "up" for p in peers)


def test_a_forget_reaches_the_peer_and_a_restarted_peer_and_a_host_can_come_back(
        tmp_path: Path) -> None:
    a = start(tmp_path, "a", "a")
    b = start(tmp_path, "b", "b", "--peer", a.endpoints["control"])
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    seq = 0

    def report(host: str, value: float = 90.0) -> None:
        """One sample of an agent publishing to both brokers."""
        nonlocal seq
        seq += 1
        pub.send_multipart(protocol.encode(protocol.metrics_frame(
            host, "agent-1", "boot-1", seq, time.time(), {"x": value})))

    def on_both(*names: str) -> bool:
        for host in names:
            report(host)
        return all(host in hosts(x) and firing(x, host) for x in (a, b) for host in names)

    try:
        for x in (a, b):
            pub.connect(x.endpoints["ingest"])
        wait_for(lambda: joined(a) and joined(b), timeout=10, what="the pair to join")
        wait_for(lambda: on_both("gone-1", "gone-2"), timeout=10,
                 what="both hosts on both brokers")

        # 1. both up: a's forget retires gone-1 on b at once (its alert with it)
        assert a.ctl("forget", "gone-1").returncode == 0
        wait_for(lambda: "gone-1" not in hosts(b) and not firing(b, "gone-1"), timeout=3,
                 what="the forget on b")
        assert "gone-2" in hosts(b)  # only that host

        # 2. b is down while a forgets gone-2; b comes back on its old data dir, with the
        # alert of gone-2 in its saved state, and the join's snapshot retires it there too
        b.stop()
        assert a.ctl("forget", "gone-2").returncode == 0
        b = start(tmp_path, "b", "b", "--peer", a.endpoints["control"])
        pub.connect(b.endpoints["ingest"])
        wait_for(lambda: joined(b), timeout=10, what="b to join again")
        wait_for(lambda: not firing(b, "gone-2"), timeout=5, what="the forget on the new b")
        wait_for(lambda: any(e["host"] == "gone-2" and "(on a)" in e["message"]
                             for e in b.ask("search", query="kind:host.forgotten")),
                 timeout=5, what="b's event saying a forgot gone-2")

        # 3. a forgotten host that reports again is back on both, and stays
        wait_for(lambda: on_both("gone-1"), timeout=10, what="gone-1 back on both")
        report("gone-1")
        b.ask("sync")  # a full exchange: the old forget entry does not retire it again
        assert "gone-1" in hosts(b) and "gone-1" in hosts(a)
    finally:
        pub.close(0)
        ctx.term()
        stop_all(b, a)
