"""Hosts joining a real broker: hosts of one shape, routed from shared templates, each get
their own host.up, their own alerts (a host-filtered rule for some only) and their own
values in the state and the fleet digest."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from core import digest as fleet
from core import protocol
from tests.procs import Broker, wait_for

pytestmark = pytest.mark.integration

RULES = '''
[[rule]]
name = "cpu_hot"
kind = "threshold"
metric = "cpu.percent"
op = ">"
critical = 90
clear = 5
for = "0s"

[[rule]]
name = "db_mem"
kind = "threshold"
metric = "mem.percent"
op = ">"
critical = 90
clear = 5
for = "0s"
hosts = ["db-*"]

[[rule]]
name = "load_core"
kind = "threshold"
metric = "load.1"
op = ">"
critical = 2
clear = 0.5
for = "0s"
per_core = true
'''
SHAPE = {"cpu.percent": 10.0, "cpu.count": 4.0, "mem.percent": 20.0, "load.1": 1.0,
         "disk./.percent": 30.0, "net.eth0.rx_bps": 100.0, "net.eth0.tx_bps": 50.0}
HOSTS = ("web-1", "db-1", "web-2", "db-2", "web-3", "db-3")
SPIKES = {"web-2": {"cpu.percent": 99.0}, "web-3": {"mem.percent": 99.0},
          "db-2": {"mem.percent": 99.0}, "db-3": {"load.1": 12.0}, "web-1": {"load.1": 4.0}}


def test_hosts_of_one_shape_join_and_alert_alone(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(RULES)
    broker = Broker(tmp_path / "data", "--rules", str(tmp_path / "rules.toml"))
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(broker.endpoints["publish"])
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(broker.endpoints["ingest"])
    seq = {h: 0 for h in HOSTS}
    got: list[dict[str, Any]] = []

    def send(host: str, **extra: float) -> None:
        frame = protocol.metrics_frame(host, host, "boot", seq[host], time.time(),
                                       {**SHAPE, **extra})
        seq[host] += 1
        protocol.send_frame(pub, frame)

    def drain() -> list[dict[str, Any]]:
        while sub.poll(0):
            got.append(protocol.decode(sub.recv_multipart(), cap=protocol.MAX_PUBLISH_MSG))
        return got

    def round_of(spikes: bool) -> bool:
        """One frame from every host; False, to poll with ``round_of(...) or check()``."""
        for h in HOSTS:
            send(h, **(SPIKES.get(h, {}) if spikes else {}))
        return False

    def active() -> list[tuple[str, str]]:
        return sorted((a["rule"], a["host"]) for a in broker.ask("alerts")
                      if a["state"] == "firing")

    try:
        # the subscription is in place once a digest arrives (the broker sends one a
        # second to a client that follows it): no host.up is missed
        wait_for(lambda: any(f["kind"] == "digest" for f in drain()), timeout=10,
                 what="the first digest")
        # the first frame of each host is held (probation): send until all have joined
        wait_for(lambda: round_of(False) or len(broker.ask("hosts")) == len(HOSTS),
                 timeout=15, what="every host joined")
        assert active() == []
        wait_for(lambda: round_of(True) or active() == [
            ("cpu_hot", "web-2"), ("db_mem", "db-2"), ("load_core", "db-3")],
            timeout=15, what="the spiking hosts' alerts")
        # one more round of the same, handled: still those three, no other host's
        last = seq["db-3"]
        round_of(True)
        wait_for(lambda: broker.ask("hosts", host="db-3")[0]["seq"] >= last, timeout=10,
                 what="the last round handled")
        assert active() == [("cpu_hot", "web-2"), ("db_mem", "db-2"), ("load_core", "db-3")]
        latest = {h["host"]: h["metrics"] for h in broker.ask("hosts")}
        assert latest["web-2"]["cpu.percent"] == 99.0 and latest["web-1"]["cpu.percent"] == 10.0
        assert latest["db-3"]["load.1"] == 12.0 and latest["db-1"]["load.1"] == 1.0

        def digest_rows() -> dict[str, dict[str, Any]] | None:
            frames = [f for f in drain() if f["kind"] == "digest"]
            if not frames:
                return None
            rows = {r["host"]: r for r in fleet.rows(frames[-1]["digest"])}
            return rows if rows.get("web-2", {}).get("cpu") == 99.0 else None
        rows = wait_for(lambda: round_of(True) or digest_rows(), timeout=15, what="a digest")
        assert isinstance(rows, dict)
        assert rows["web-1"]["cpu"] == 10.0 and rows["db-3"]["load"] == 12.0
        assert rows["web-3"]["mem"] == 99.0 and rows["db-1"]["mem"] == 20.0
        ups = [f["event"]["host"] for f in got
               if f["kind"] == "event" and f["event"]["kind"] == "host.up"]
        assert sorted(ups) == sorted(HOSTS)  # one host.up each, none twice
    finally:
        sub.close(0)
        pub.close(0)
        ctx.term()
        broker.stop()
