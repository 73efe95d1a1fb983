"""Hostile input: a 300 MB frame, a 300 MB control request, a flood of bogus host names."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import zmq

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
