"""Hostile input: a 300 MB frame, a 300 MB control request, a flood of bogus host names."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import zmq

from core import protocol
from tests.chaos.fleet import Fleet
from tests.procs import Broker, wait_for

pytestmark = pytest.mark.integration


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_300_mb_frame_is_refused_and_memory_stays_flat(tmp_path: Path) -> None:
    b = Broker(tmp_path / "data")
    ctx: zmq.Context[Any] = zmq.Context()
    fleet = Fleet(b.endpoints["ingest"], n=2)
    try:
        wait_for(lambda: b.ctl_json("status")["hosts"] == 2, 10, "two hosts")
        before = rss_mb(b.proc.pid)
        huge = b"x" * (300 * 2**20)
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 2000)
        pub.connect(b.endpoints["ingest"])
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 2000)
        dealer.connect(b.endpoints["control"])
        time.sleep(0.3)  # poll: PUB drops everything until the subscription reached it
        peak = before
        pub.send_multipart([b"m.x", huge])
        dealer.send(huge)
        del huge
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            peak = max(peak, rss_mb(b.proc.pid))
            time.sleep(0.05)  # poll
        frames = b.ctl_json("status")["ingest"]["frames"]
        wait_for(lambda: b.ctl_json("status")["ingest"]["frames"] > frames + 4, 5,
                 "ingest still flowing")
        print(f"broker RSS {before:.0f} MB before, peak {peak:.0f} MB after a 300 MB frame")
        assert peak - before < 40, (before, peak)
        assert b.proc.poll() is None
        pub.close()
        dealer.close()
    finally:
        fleet.close()
        ctx.term()
        b.stop()


RULES = '''
[[rule]]
name = "host_down"
kind = "host_down"
for = "2s"
severity = "critical"
'''


def test_a_name_flood_does_not_lock_out_real_hosts(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    cfg = tmp_path / "broker.toml"
    cfg.write_text("[broker]\nmax_hosts = 200\n")
    b = Broker(tmp_path / "data", "--rules", str(rules), "--config", str(cfg))
    ctx: zmq.Context[Any] = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.connect(b.endpoints["ingest"])
    fleet = Fleet(b.endpoints["ingest"], n=3)
    late: Fleet | None = None
    try:
        wait_for(lambda: b.ctl_json("status")["hosts"] == 3, 10, "the first real hosts")
        time.sleep(0.2)  # poll: let the flood's subscription settle
        now = time.time()
        for i in range(10_000):  # one frame per bogus name, as fast as we can
            protocol.send_frame(pub, protocol.metrics_frame(
                f"fake-{i}", f"x{i}", "b", 0, now, {"cpu.percent": 1.0}))
        late = Fleet(b.endpoints["ingest"], n=5)  # h00..h04: h03 and h04 are new
        st = wait_for(lambda: (s := b.ctl_json("status"))["hosts"] == 5 and s, 5,
                      "the new real hosts")
        assert st["ingest"]["held_on_probation"] >= 9_000, st["ingest"]
        assert not [a for a in b.ctl_json("alerts") if a["host"].startswith("fake-")]
        wait_for(lambda: b.ctl_json("status")["hosts_up"] == 5, 3, "all five up")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3:  # past host_down's 2 s: no fake host pages
            assert not [a for a in b.ctl_json("alerts") if a["host"].startswith("fake-")]
            time.sleep(0.25)  # poll
    finally:
        fleet.close()
        if late is not None:
            late.close()
        pub.close()
        ctx.term()
        b.stop()


def test_past_the_host_cap_new_hosts_are_refused_and_known_ones_work(tmp_path: Path) -> None:
    cfg = tmp_path / "broker.toml"
    cfg.write_text("[broker]\nmax_hosts = 3\n")
    b = Broker(tmp_path / "data", "--config", str(cfg))
    fleet = Fleet(b.endpoints["ingest"], n=5)
    try:
        st = wait_for(lambda: (s := b.ctl_json("status"))["hosts"] == 3
                      and s["ingest"]["rejected"] >= 4 and s, 10, "cap reached")
        assert any("host limit reached" in r
                   for r in st["ingest"]["rejected_by_reason"]), st["ingest"]
        frames = {h["host"]: h["seq"] for h in b.ctl_json("hosts")}
        wait_for(lambda: all(h["seq"] > frames[h["host"]] for h in b.ctl_json("hosts")), 5,
                 "known hosts still updating")
    finally:
        fleet.close()
        b.stop()


def test_a_noisy_host_is_held_to_its_log_budget_with_counted_drops(tmp_path: Path) -> None:
    cfg = tmp_path / "broker.toml"
    cfg.write_text("[broker]\nevents_per_s = 20\nevents_burst = 50\n")
    b = Broker(tmp_path / "data", "--config", str(cfg))
    ctx: zmq.Context[Any] = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.connect(b.endpoints["ingest"])
    try:
        seq = iter(range(10**9))
        wait_for(lambda: protocol.send_frame(pub, protocol.metrics_frame(
            "noisy", "a", "b", next(seq), time.time(), {"cpu.percent": 1.0}))
            or b.ctl_json("status")["hosts"] == 1, 5, "noisy admitted")
        for i in range(2000):
            protocol.send_frame(pub, protocol.log_frame("noisy", "a", "b", next(seq),
                                                        time.time(), source="app",
                                                        level="info", message=f"line {i}"))
        st = wait_for(lambda: (s := b.ctl_json("status"))["ingest"]["log_lines_dropped"]
                      >= 1500 and s, 5, "drops counted")
        dropped = wait_for(lambda: b.ctl_json("search", "kind:ingest.dropped host:noisy"), 5,
                           "the drop event")
        assert len(dropped) == 1 and dropped[0]["data"]["dropped"] >= 1, dropped  # one per 10 s
        stored = b.ctl_json("search", "kind:log host:noisy", "--limit", "1000")
        assert 50 <= len(stored) <= 200, len(stored)
        assert st["ingest"]["log_lines_dropped"] + len(stored) == 2000
    finally:
        pub.close()
        ctx.term()
        b.stop()
