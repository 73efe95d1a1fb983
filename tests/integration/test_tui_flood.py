"""The console under a host.down/host.up storm from a real broker: keys are answered while
thousands of events arrive, and what the console counted is what the broker stored.

The storm: ``HOSTS`` hosts (past the session's VIEW_ABOVE: the console follows a view and
the digest, as at fleet scale) send a frame each straight to the broker's ingest socket,
until the broker has them all up, then fall silent past ``--host-timeout`` (the broker
marks them all down in one tick: a burst of host.down events, and host_down alerts going
pending), then send again (host.up), three times. The
console (the real app and its live source, 80x24) takes a key every few tens of ms the
whole time, each polled until it is answered.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zmq
from textual import events

from core import protocol
from tests.procs import Broker, wait_for
from tests.snapshots.frozen_app import until
from tui.app import MonitorApp
from tui.sources.coalesce import FLUSH_S
from tui.sources.live import LiveSource
from tui.sources.session import VIEW_ABOVE
from tui.widgets.host_table import HostTable

pytestmark = pytest.mark.integration

HOSTS = 2000
CYCLES = 3
KEY_DEADLINE_S = 1.5  # the key of the last session's storm was answered after 2.6 s


class Storm:
    """HOSTS hosts with an agent's identity: ``burst`` sends one frame of each."""

    def __init__(self, ingest: str) -> None:
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.setsockopt(zmq.SNDHWM, 100_000)
        self.pub.connect(ingest)
        self.hosts = [f"st-{i:04d}" for i in range(HOSTS)]
        self.seq = 0
        self.sent = 0

    def burst(self) -> None:
        now = time.time()
        for i, host in enumerate(self.hosts):
            protocol.send_frame(self.pub, protocol.metrics_frame(
                host, f"agent-{host}", "boot-1", self.seq, now, {"cpu.percent": float(i % 90)}))
        self.seq += 1
        self.sent += len(self.hosts)

    def close(self) -> None:
        self.pub.close()
        self.ctx.term()


def _up(broker: Broker) -> int:
    status = broker.ask("status")
    assert status["hosts"] <= HOSTS
    return int(status["hosts_up"]) if status["hosts"] == HOSTS else -1


def _stored(broker: Broker, kind: str) -> int:
    return len(broker.ask("search", query=f"kind:{kind}", limit=10_000))


@pytest.mark.timeout(180)
async def test_keys_are_answered_in_a_host_storm_and_counts_match_the_broker(
        tmp_path: Path) -> None:
    assert HOSTS > VIEW_ABOVE
    broker = Broker(tmp_path / "data", "--host-timeout", "1s")
    storm = Storm(broker.endpoints["ingest"])
    eps = broker.endpoints
    source = LiveSource({"b": (eps["control"], eps["publish"])}, timeout=10.0)
    app = MonitorApp(source, refresh_s=0.5)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.connections.get("b") == "connected", 15,
                        "the console connected")
            table = app.screen.query_one(HostTable)
            link = source.links["b"]
            done = threading.Event()
            failed: list[BaseException] = []
            metrics_after_first: list[int] = []

            def _metrics_frames() -> int:
                return sum(n for t, n in list(link.topics.items()) if t.startswith(b"m."))

            def run_storm() -> None:
                try:
                    storm_cycles()
                except BaseException as exc:  # reported by the test, not lost in the thread
                    failed.append(exc)

            def storm_cycles() -> None:
                for cycle in range(CYCLES):
                    while _up(broker) != HOSTS:  # all up (joined, or reporting again)
                        storm.burst()
                        time.sleep(0.3)  # poll: the hosts report every 0.3 s meanwhile
                    wait_for(lambda: _up(broker) == 0, 30, "all down")  # then silent
                    if cycle == 0:
                        metrics_after_first.extend([_metrics_frames(), storm.sent])
                done.set()

            thread = threading.Thread(target=run_storm, daemon=True)
            started = time.monotonic()
            thread.start()
            answered: list[float] = []
            step = 1
            while not done.is_set() and thread.is_alive():
                if table.row_count < 2:  # the first hosts have not come yet
                    await asyncio.sleep(0.05)  # poll
                    continue
                if step == 1 and table.cursor_row >= table.row_count - 1:
                    step = -1
                elif step == -1 and table.cursor_row <= 0:
                    step = 1
                before = table.cursor_row
                t0 = time.monotonic()
                app.post_message(events.Key("down" if step == 1 else "up", None))
                while table.cursor_row == before and time.monotonic() - t0 < 10:
                    await asyncio.sleep(0.005)  # poll
                answered.append(time.monotonic() - t0)
                await asyncio.sleep(0.05)  # poll: the next key
            thread.join(60)
            assert done.is_set(), f"the storm did not finish: {failed}"
            assert len(answered) >= 20, f"only {len(answered)} keys pressed"
            slow = sorted(answered)[-3:]
            median = sorted(answered)[len(answered) // 2]
            print(f"{len(answered)} keys in the storm, answered after p50 {median * 1000:.0f} "
                  f"ms, slowest {', '.join(f'{s * 1000:.0f}' for s in slow)} ms")
            assert max(answered) <= KEY_DEADLINE_S, (
                f"keys answered after {', '.join(f'{s:.2f}' for s in slow)} s in the storm")
            assert median <= 0.3, f"keys answered after {median:.2f} s (median) in the storm"
            # one message a flush (and one a digest), not one a frame
            session = link.session
            assert session is not None
            events_in = sum(n for t, n in link.topics.items() if t[:2] in (b"e.", b"a."))
            digests = sum(n for t, n in link.topics.items() if t.startswith(b"d."))
            # every host.down and host.up reached the console, or, on a machine so loaded
            # that its socket overflowed (11,316 of 12,000 once, in the loaded full suite),
            # the session saw the gap and fetched the state again (the Clone pattern)
            assert events_in >= HOSTS * CYCLES
            assert events_in >= 2 * HOSTS * CYCLES or session.resyncs > 0, events_in
            assert session.coalescer.posted <= (time.monotonic() - started) / FLUSH_S \
                + digests + 5
            # the fleet grew past VIEW_ABOVE after the console connected: it follows a view
            # (the first cycle's frames came before the first digest that said so)
            assert session.view_mode
            seen, sent = metrics_after_first
            assert storm.sent - sent >= 2 * HOSTS  # the later cycles' metrics frames...
            assert _metrics_frames() - seen < HOSTS / 4  # ...reached it for its view only
            # the console's picture and its counts are the broker's
            counts = await until(pilot, lambda: (c := app.model.counts())["down"] == HOSTS and c,
                                 20, "every host down in the console")
            assert counts["hosts"] == HOSTS and counts["up"] == 0
            down = await until(pilot, lambda: _stored(broker, "host.down") == HOSTS * CYCLES
                               and HOSTS * CYCLES, 20, "the broker's stored host.down events")
            await until(pilot, lambda: app.model.event_kinds.get("host.down", 0) >= down, 20,
                        "the console's count of host.down events")
            assert app.model.event_kinds["host.down"] == down
            assert app.model.event_kinds.get("host.up", 0) == _stored(broker, "host.up")
            assert app.model.events_dropped > 0  # the storm was more than the tail shows
            assert link.resyncs == 0  # nothing lost on the way: the counts are exact
    finally:
        storm.close()
        broker.stop()
