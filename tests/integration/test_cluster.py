"""Broker pairs with real processes on loopback: replication, join, partitions, sync."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.procs import Broker, start_brokers, stop_all, wait_for
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


def config(tmp: Path, name: str, anti_entropy: str) -> str:
    path = tmp / f"{name}.toml"
    path.write_text(f'[cluster]\nname = "{name}"\nanti_entropy = "{anti_entropy}"\n')
    return str(path)


def peers_up(broker: Broker, n: int = 1) -> bool:
    peers = broker.ask("cluster")["peers"]
    return sum(p["state"] == "up" for p in peers) >= n


def acked(broker: Broker, alert_id: str) -> dict[str, Any] | None:
    for a in broker.ask("alerts"):
        if a["id"] == alert_id and a["acked"]:
            return a
    return None


def silence_ids(broker: Broker) -> set[str]:
    return {s["id"] for s in broker.ask("silences")}


@pytest.fixture
def pair(tmp_path: Path):
    a = Broker(tmp_path / "a", "--config", config(tmp_path, "a", "1s"))
    b = Broker(tmp_path / "b", "--config", config(tmp_path, "b", "1s"),
               "--peer", a.endpoints["control"])
    try:
        wait_for(lambda: peers_up(a) and peers_up(b), timeout=10, what="the pair to join")
        yield a, b
    finally:
        stop_all(b, a)


@pytest.mark.serial  # a latency figure
def test_ack_and_silence_on_one_broker_reach_the_other_within_a_second(pair) -> None:
    a, b = pair
    alert_id = a.ctl_json("simulate", "disk_full", "--host", "db-1")["alert_ids"][0]
    # the simulated alert is replicated: it fires on b with the same id
    wait_for(lambda: any(x["id"] == alert_id and x["state"] == "firing"
                         for x in b.ask("alerts")), timeout=3, what="alert on b")
    assert a.ctl("ack", alert_id, "--comment", "on it", "--author", "alice").returncode == 0
    got = wait_for(lambda: acked(b, alert_id), timeout=3, what="the ack on b")
    assert got["ack"]["comment"] == "on it"
    sid = a.ctl_json("silence", "host=web-*", "--for", "1h")["id"]
    wait_for(lambda: sid in silence_ids(b), timeout=3, what="the silence on b")
    # b measures each entry from its making on a (the hybrid clock's wall time, one
    # machine here) to its arrival: the replication lag, without monitor-ctl's start-up
    lag = b.ask("cluster")["lag"]
    assert lag["a"]["samples"] >= 3 and lag["a"]["p99_ms"] < 1000, lag
    # and back: b removes the silence, a hears of it
    assert b.ctl("unsilence", sid).returncode == 0
    wait_for(lambda: sid not in silence_ids(a), timeout=3, what="the unsilence on a")
    lag = a.ask("cluster")["lag"]
    assert lag["b"]["samples"] >= 1 and lag["b"]["p99_ms"] < 1000, lag


def test_a_broker_restarted_from_an_empty_data_dir_converges_on_join(pair, tmp_path) -> None:
    a, b = pair
    alert_id = a.ctl_json("simulate", "high_cpu_usage", "--host", "web-3")["alert_ids"][0]
    assert a.ctl("ack", alert_id).returncode == 0
    sid = a.ctl_json("silence", "rule=disk_full", "--for", "2h")["id"]
    wait_for(lambda: sid in silence_ids(b), timeout=3, what="silence on b")
    b.stop()
    fresh = Broker(tmp_path / "b-new", "--config", config(tmp_path, "b", "1s"),
                   "--peer", a.endpoints["control"])
    try:
        wait_for(lambda: sid in silence_ids(fresh) and acked(fresh, alert_id), timeout=10,
                 what="the fresh broker to converge")
        report = fresh.ask("cluster")
        assert report["entries"] >= 3 and report["peers"][0]["state"] == "up"
    finally:
        fresh.stop()


def test_a_partition_heals_and_sync_reports_what_differed(tmp_path: Path) -> None:
    pa, pb = TcpProxy(), TcpProxy()
    # anti-entropy every 10 minutes: only the forced sync repairs within this test
    a = Broker(tmp_path / "a", "--config", config(tmp_path, "a", "10m"),
               "--peer", pb.endpoint, "--advertise", pa.endpoint)
    b = Broker(tmp_path / "b", "--config", config(tmp_path, "b", "10m"),
               "--peer", pa.endpoint, "--advertise", pb.endpoint)
    pa.point_at(a.endpoints["control"])
    pb.point_at(b.endpoints["control"])
    try:
        assert b.ask("sync")["peers"][0]["ok"]  # joined through the proxies
        wait_for(lambda: peers_up(a) and peers_up(b), timeout=10, what="the pair to join")
        pa.cut()
        pb.cut()
        sid = a.ctl_json("silence", "host=db-9", "--for", "1h")["id"]
        wait_for(lambda: a.ask("cluster")["peers"][0]["state"] == "down", timeout=5,
                 what="a to see b gone")
        assert sid not in silence_ids(b)
        other = b.ctl_json("silence", "host=db-8", "--for", "1h")["id"]
        wait_for(lambda: b.ask("cluster")["peers"][0]["state"] == "down", timeout=5,
                 what="b's push to fail")
        pa.mend()
        pb.mend()
        # no command: the link thread asks a down peer again every 2 s and repairs by
        # digest compare, both ways
        wait_for(lambda: sid in silence_ids(b) and other in silence_ids(a), timeout=10,
                 what="the partition to heal")
        # whichever side repaired first says what it fixed, entry by entry
        last = [x.ask("cluster")["peers"][0]["last_sync"] for x in (a, b)]
        fixed = {k for r in last if r.get("ok") for k in (*r["fetched"], *r["pushed"])}
        assert fixed == {f"silence:{sid}", f"silence:{other}"}, last
        again = b.ask("sync")
        assert again["peers"][0]["ok"] and again["differences"] == 0, again
    finally:
        stop_all(b, a)
        pa.close()
        pb.close()


def test_bad_peer_flags_and_requests_get_one_line_errors(tmp_path: Path) -> None:
    import subprocess

    from tests.procs import ENV, command

    run = subprocess.run([*command("monitor-broker"), "--data-dir", str(tmp_path / "x"),
                          "--control", "tcp://127.0.0.1:*", "--ingest", "tcp://127.0.0.1:*",
                          "--publish", "tcp://127.0.0.1:*", "--peer", "bad host:x"],
                         capture_output=True, text=True, timeout=20, env=ENV)
    assert run.returncode != 0 and "--peer" in run.stderr and len(run.stderr.splitlines()) == 1
    b = Broker(tmp_path / "b")
    try:
        from core.client import ControlClient, ControlError

        with ControlClient(b.endpoints["control"]) as client:
            with pytest.raises(ControlError, match="is not one of"):
                client.request("peer_push", node="x", entries=[["evil:1", {}, [1, 0, "x"]]])
            with pytest.raises(ControlError, match="'keys' must be a list"):
                client.request("peer_fetch", keys="all")
            with pytest.raises(ControlError, match="'buckets' must be a list of integers"):
                client.request("peer_digest", buckets=[0, 256])
            summary = client.request("peer_digest", summary=True)["summary"]
            assert len(summary) == 256 and not any(summary)  # nothing replicated yet
        assert b.ctl_json("status")["hosts"] == 0  # still serving
        assert "nothing to synchronise" in b.ctl("sync").stdout
    finally:
        b.stop()


def test_three_sharded_brokers_one_ctl_every_host_once_and_search_spans_all(
        tmp_path: Path) -> None:
    from tests.procs import start_agent

    brokers = start_brokers(*[(tmp_path / f"s{i}",) for i in range(3)])
    # shard 0 and 1 each own a host; shard 2 owns one too, and web-1 reports to two shards
    # (an agent given two brokers): the merged list still shows it once
    agents = [start_agent(b.endpoints["ingest"], "--host", f"shard-{i}", "--interval", "0.3")
              for i, b in enumerate(brokers)]
    agents.append(start_agent(brokers[0].endpoints["ingest"], "--ingest",
                              brokers[1].endpoints["ingest"], "--host", "web-1",
                              "--interval", "0.3"))
    every = [a for b in brokers for a in ("--control", b.endpoints["control"])]
    ctl = brokers[0].ctl  # any Broker's ctl; the --control flags below name all three
    try:
        def merged() -> list[str]:
            out = ctl("--json", *every, "hosts")
            assert out.returncode == 0, out.stderr
            return [h["host"] for h in json.loads(out.stdout)]

        want = [{"shard-0", "web-1"}, {"shard-1", "web-1"}, {"shard-2"}]
        wait_for(lambda: all({h["host"] for h in b.ask("hosts")} == w
                             for b, w in zip(brokers, want, strict=True)),
                 timeout=15, what="every shard's hosts")
        names = merged()
        assert sorted(names) == ["shard-0", "shard-1", "shard-2", "web-1"]
        found = json.loads(ctl("--json", *every, "search", "kind:host.up").stdout)
        assert {e["host"] for e in found} >= {"shard-0", "shard-1", "shard-2"}
        assert {e["broker"] for e in found} == {b.endpoints["control"] for b in brokers}
        # a silence made through the merged view is one silence on every shard
        sil = json.loads(ctl("--json", *every, "silence", "host=shard-2", "--for", "1h").stdout)
        assert all(sil["id"] in silence_ids(b) for b in brokers)
        listed = json.loads(ctl("--json", *every, "silences").stdout)
        assert [s["id"] for s in listed] == [sil["id"]]
    finally:
        stop_all(*agents, *brokers)


def test_connect_and_sync_from_python(tmp_path: Path) -> None:
    from broker.system import MonitoringSystem

    a = MonitoringSystem(tmp_path / "a", name="a", anti_entropy=600).start()
    b = MonitoringSystem(tmp_path / "b", name="b", anti_entropy=600).start()
    try:
        empty = a.sync()
        assert empty["peers"] == [] and "nothing to synchronise" in empty["message"]
        assert b.control is not None
        sid = b.core.call(lambda: b.control.silence(  # type: ignore[union-attr]
            {"matchers": ["host=db-1"], "duration": "1h"}))["id"]
        a.connect(b.endpoints["control"])
        wait_for(lambda: a.cluster_status()["peers"][0]["state"] == "up", timeout=5,
                 what="a to join b")
        report = a.sync()
        assert report["peers"][0]["ok"] and report["differences"] == 0  # the join fetched it
        assert sid in {s["id"] for s in a.engine.silences()}
        # a change b made whose push was lost (put in b's replica, never sent): only a
        # digest compare finds it, and sync says so, entry by entry
        assert b.cluster is not None
        lost = {"id": "lost1", "matchers": ["host=db-2"], "starts_at": time.time(),
                "ends_at": time.time() + 600, "author": "x", "comment": "",
                "created_at": time.time()}
        b.core.call(lambda: b.cluster.replica.put("silence:lost1", lost))
        report = a.sync()
        assert report["differences"] == 1 and report["peers"][0]["fetched"] == ["silence:lost1"]
        assert "lost1" in {s["id"] for s in a.engine.silences()}
    finally:
        a.stop()
        b.stop()
