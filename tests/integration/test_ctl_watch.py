"""monitor-ctl watch and core.subscriber against a real broker process and agent."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.subscriber import Subscriber
from tests.procs import ENV, Broker, command, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration
HOSTS = 30


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(Path(tmp_path_factory.mktemp("watch")) / "data")
    agent = start_agent(b.endpoints["ingest"], "--simulate", str(HOSTS))
    try:
        wait_for(lambda: b.ctl_json("status")["hosts"] >= HOSTS, timeout=30, what="hosts")
        yield b
    finally:
        stop_proc(agent)
        b.stop()


def watch(broker: Broker, *args: str) -> list[dict]:
    out = subprocess.run([*command("monitor-ctl"), "--publish", broker.endpoints["publish"],
                          "--json", "watch", *args], capture_output=True, text=True,
                         timeout=60, env=ENV)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_watch_prints_the_digest_sorted_and_only_the_hosts_asked_for(broker: Broker) -> None:
    hosts = sorted(h["host"] for h in broker.ctl_json("hosts"))
    pick = hosts[3]
    lines = watch(broker, "--count", "2", "--sort", "mem", "--top", "5", "--hosts", pick)
    digests = [x for x in lines if x["kind"] == "digest"]
    assert len(digests) == 2
    assert digests[-1]["counts"]["total"] == HOSTS
    mems = [r["mem"] for r in digests[-1]["top"]]
    assert len(mems) == 5 and mems == sorted(mems, reverse=True)
    metrics = [x for x in lines if x["kind"] == "metrics"]
    assert metrics and {x["host"] for x in metrics} == {pick}


def test_subscriber_watch_switches_hosts(broker: Broker) -> None:
    hosts = sorted(h["host"] for h in broker.ctl_json("hosts"))
    with Subscriber(broker.endpoints["publish"], hosts=[hosts[0]], digest=False) as sub:
        first = wait_for(lambda: sub.recv(2.0), timeout=10, what="a frame")
        assert first["kind"] == "metrics" and first["host"] == hosts[0]
        sub.watch([hosts[1]])
        seen = [sub.recv(2.0) for _ in range(6)]  # frames of hosts[0] may still be queued
        assert seen[-1] is not None and seen[-1]["host"] == hosts[1]


def test_brief_snapshot_has_metrics_only_for_the_detail_hosts(broker: Broker) -> None:
    from core.client import ControlClient, ControlError

    with ControlClient(broker.endpoints["control"], timeout=10) as client:
        names = sorted(h["host"] for h in client.request("hosts"))
        snap = client.request("snapshot", brief_above=5, detail=[names[2]])
        full = client.request("snapshot", brief_above=HOSTS)
        with pytest.raises(ControlError, match="'detail' must be a list of host names"):
            client.request("snapshot", brief_above=5, detail="web-01")
    assert snap["brief"] and not full["brief"] and isinstance(snap["nseq"], int)
    with_metrics = [h["host"] for h in snap["hosts"] if h["metrics"]]
    assert with_metrics == [names[2]] and len(snap["hosts"]) == HOSTS
    assert all(h["metrics"] for h in full["hosts"])


def test_watch_refuses_bad_flags_in_one_line(broker: Broker) -> None:
    for args, words in ((["watch", "--sort", "nope"], "--sort nope"),
                        (["watch", "--top", "0"], "--top must be")):
        out = subprocess.run([*command("monitor-ctl"), "--publish", broker.endpoints["publish"],
                              *args], capture_output=True, text=True, timeout=30, env=ENV)
        assert out.returncode == 2 and words in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
