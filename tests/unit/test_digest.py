"""The fleet digest against the real state of a core loop, on a fake clock, received over a
real SUB socket on its topic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from broker.alerting.engine import AlertEngine
from broker.bus import EventBus
from broker.ingest.loop import BrokerCore
from core import digest as fleet
from core import protocol
from core.clock import FakeClock

HOSTS = {  # host -> metrics; db-1 and db-10 share a prefix on purpose
    "db-1": {"cpu.percent": 99.0, "mem.percent": 50.0, "disk./.percent": 70.0,
             "disk./var.percent": 95.5, "net.eth0.rx_bps": 100.0, "net.eth1.rx_bps": 50.0,
             "net.eth0.tx_bps": 5.0, "net.lo.rx_bps": 1e9, "load.1": 3.0},
    "db-10": {"cpu.percent": 20.0, "mem.percent": 91.0, "disk./.percent": 10.0,
              "load.1": 0.5},
    "web-1": {"cpu.percent": 55.25, "mem.percent": 30.0, "net.eth0.rx_bps": 7e6,
              "net.eth0.tx_bps": 2e6},
    "old": {"cpu.percent": 5.0},
}


@pytest.fixture
def core(tmp_path: Path) -> Iterator[BrokerCore]:
    clock = FakeClock()
    eps = {k: f"ipc://{tmp_path}/{k}" for k in ("ingest", "publish", "control")}
    c = BrokerCore(eps, EventBus(clock), clock=clock, host_timeout=10, engine=AlertEngine())
    yield c
    c.close()


def feed(core: BrokerCore, host: str, seq: int) -> None:
    core.ingest(protocol.encode(protocol.metrics_frame(host, "a-" + host, "b", seq,
                                                       core.clock.time(), HOSTS[host])))


def receive_digest(core: BrokerCore) -> dict[str, Any]:
    """Tick until a digest arrives on a SUB subscribed to d.fleet only (the slow joiner)."""
    sub = core.ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, protocol.topic("d", "fleet"))
    sub.connect(core.endpoints["publish"])
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            core.drain_subscriptions()  # what the loop does: the XPUB tells who wants what
            core.tick()
            if sub.poll(50):
                topic, payload = sub.recv_multipart()
                assert topic == b"d.fleet\0"
                frame = protocol.decode([topic, payload], core.clock.time())
                assert frame["kind"] == "digest" and isinstance(frame["pseq"], int)
                return frame["digest"]
        raise AssertionError("no digest within 5 s")
    finally:
        sub.close(0)


def test_digest_matches_the_state(core: BrokerCore) -> None:
    clock = core.clock
    assert isinstance(clock, FakeClock)
    feed(core, "old", 0)
    clock.advance(11)  # "old" goes silent past host_timeout
    for seq, host in enumerate(("db-1", "db-10", "web-1")):
        feed(core, host, seq)
        clock.advance(0.5)
    core.tick()  # marks "old" down; db-1's cpu alert is pending
    d = receive_digest(core)
    state = core.state.hosts
    assert d["hosts"] == sorted(state) and d["ts"] == clock.time()
    assert core.engine is not None
    active = core.engine.active_counts()  # db-1's cpu, db-10's memory: pending
    assert active["db-1"] >= 1 and "web-1" not in active
    assert d["counts"] == {"total": 4, "up": 3, "down": 1, "stopped": 0,
                           "alerting": len(active)}
    rows = {r["host"]: r for r in fleet.rows(d)}
    for name, hs in state.items():
        m, row = hs.metrics, rows[name]
        assert row["status"] == hs.status
        assert row["cpu"] == pytest.approx(m["cpu.percent"])
        assert row["mem"] == (pytest.approx(m["mem.percent"]) if "mem.percent" in m else None)
        disks = [v for k, v in m.items() if k.startswith("disk.")]
        assert row["disk"] == (pytest.approx(max(disks)) if disks else None)
        rx = [v for k, v in m.items() if k.endswith(".rx_bps") and not k.startswith("net.lo.")]
        assert row["rx"] == (pytest.approx(sum(rx)) if rx else None)  # lo left out
        assert row["age"] == pytest.approx(clock.time() - hs.last_seen)
        assert row["alerts"] == active.get(name, 0)
    assert rows["web-1"]["alerts"] == 0
    assert rows["old"]["status"] == "down"
    # the top lists and the ordering agree with the state
    true_top_cpu = max(state, key=lambda h: state[h].metrics["cpu.percent"])
    assert d["top"]["cpu"][0] == true_top_cpu == fleet.order(d, "cpu")[0] == "db-1"
    assert fleet.order(d, "mem")[0] == "db-10"
    assert fleet.order(d, "disk") == ["db-1", "db-10", "old", "web-1"]  # unknown last, by name
    assert fleet.order(d, "cpu", reverse=True)[0] == "old"
    assert fleet.order(d, "cpu", match="db-1") == ["db-1", "db-10"]
    assert fleet.order(d, "host", match="-1") == ["db-1", "db-10", "web-1"]
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        fleet.order(d, "nope")


def test_digest_follows_changes_and_drops_gone_series(core: BrokerCore) -> None:
    feed(core, "web-1", 0)
    d1 = core.handler.digest(core.clock.time())["digest"]
    assert fleet.rows(d1)[0]["disk"] is None
    core.ingest(protocol.encode(protocol.metrics_frame(
        "web-1", "a-web-1", "b", 1, core.clock.time(), {"disk./.percent": 42.0})))
    d2 = core.handler.digest(core.clock.time())["digest"]
    assert fleet.rows(d2)[0]["disk"] == pytest.approx(42.0)  # a new series feeds its column
    assert d2["top"]["disk"] == ["web-1"] and d2["top"]["cpu"] == ["web-1"]


def test_no_digest_is_built_while_no_client_subscribes_to_it(core: BrokerCore) -> None:
    feed(core, "web-1", 0)
    before = core.nseq  # the digest is a fleet-wide frame: it takes an nseq when published
    core.drain_subscriptions()
    core.tick()
    assert core.nseq == before
    d = receive_digest(core)  # a subscriber: digests again
    assert d["hosts"] == ["web-1"] and core.nseq > before


def test_figures_skipped_while_nobody_follows_are_taken_when_someone_does(
        core: BrokerCore) -> None:
    for seq, host in enumerate(HOSTS):
        feed(core, host, seq)
    core.drain_subscriptions()
    core.tick()  # nobody follows the digest: frames take no figures from here on
    assert not core.handler.digests.noting
    HOSTS["web-1"] = {**HOSTS["web-1"], "cpu.percent": 77.0}  # changed while not noted
    try:
        feed(core, "web-1", 10)
    finally:
        HOSTS["web-1"]["cpu.percent"] = 55.25
    d = receive_digest(core)  # someone follows again: every host's latest values
    assert core.handler.digests.noting
    rows = {r["host"]: r for r in fleet.rows(d)}
    assert rows["web-1"]["cpu"] == pytest.approx(77.0)
    assert rows["db-1"]["disk"] == pytest.approx(95.5) and d["top"]["cpu"][0] == "db-1"
    direct = core.handler.digest(core.clock.time())["digest"]  # a direct build agrees
    assert fleet.rows(direct) == fleet.rows(d)
