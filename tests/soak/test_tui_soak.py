"""Soak: the real console against a real broker fed by `monitor-agent --simulate 200`.

A seeded random walk of keys (bursts, screen switches, dialogs opened and cancelled,
searches good and refused, resizes between 80x24 and 200x60, the host screen's chart range
keys `<` `>` timed to the chart of the new range) while scripted incidents run
(simulated alerts firing, acks, silences, a host going down; the fleet's own pending alerts
going back to inactive). Passes when nothing raised, every key had its effect within 5 s
(or 5x the same-run ceiling's p99, below), half of them were reflected within 250 ms, and
at the end the alerts screen lists exactly what `monitor-ctl --json alerts` lists. Key -> repaint p99 is printed against the 250 ms
target and asserted: in a long run (`pytest tests/soak --soak-minutes 10`, for a machine to
itself) against the target; in the 45 s run of `make test`, on shared cores, against 2 s
(a console that cannot keep up). On a box so loaded that the same walk on 14 frozen hosts
(the ceiling, measured first in the same run) is slower, the limits are 3x the ceiling's.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from core import protocol
from tests.conftest import soak_seconds
from tests.procs import Broker, start_agent, stop_proc, wait_for
from tests.snapshots.frozen_app import make_app, until
from tests.soak import sampler
from tests.soak.walk import EFFECT_TIMEOUT_S, SIZES, Painter, Walk
from tui.app import MonitorApp
from tui.sources.live import LiveSource
from tui.widgets.alert_table import AlertTable

pytestmark = [pytest.mark.integration, pytest.mark.soak, pytest.mark.serial]
P99_LIMIT_MS = 250.0  # the target: a key reflected within 250 ms, 99 times in 100
P50_LIMIT_MS = 250.0  # held in every run: half the keys within 250 ms (or 3x the ceiling's)
SHARED_P99_MS = 2000.0  # the 45 s run of `make test`, on a box shared with other jobs
CEILING_S = 8.0
MIN_TIMED = 40  # timed keys needed to judge a p99
CEILING_FACTOR = 3.0  # the 200-host run (plus a broker and 200 agents on the same cores)
#                       may cost this much more than the 14-host ceiling
SEED = 1010
_ids = itertools.count()


def ask(control: str, op: str, **args: Any) -> Any:
    """One control request (the incidents script: cheaper than a monitor-ctl process)."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(control)
        sock.send(protocol.request(f"soak{next(_ids)}", op, **args))
        if not sock.poll(10_000):
            raise AssertionError(f"no reply to {op}")
        reply = protocol.unpack_reply(sock.recv())
    finally:
        sock.close(linger=0)
        ctx.term()
    return reply.get("result") if reply.get("ok") else None


class Incidents(threading.Thread):
    """Scripted incidents until stopped: fire, ack, silence, a host that goes quiet."""

    def __init__(self, broker: Broker, hosts: list[str]) -> None:
        super().__init__(name="soak-incidents", daemon=True)
        self.broker, self.hosts = broker, hosts
        self.stopping = threading.Event()
        self.rnd = random.Random(SEED)
        self.done: list[str] = []
        self.agent: Any = None

    def run(self) -> None:
        control, ingest = self.broker.endpoints["control"], self.broker.endpoints["ingest"]
        for n in itertools.count():
            if self.stopping.wait(2.0):
                break
            host = self.rnd.choice(self.hosts)
            step = n % 6
            if step == 0:
                fired = ask(control, "simulate", name=self.rnd.choice(
                    ["high_cpu_usage", "disk_full", "high_memory_usage"]), host=host)
                self.last = (fired or {}).get("alert_ids") or []
                self.done.append("fire")
            elif step == 1 and getattr(self, "last", None):
                ask(control, "ack", alert_id=self.last[0], author="soak", comment="on it")
                self.done.append("ack")
            elif step == 2:
                ask(control, "silence", matchers=[f"host={host}"], duration="2m",
                    author="soak")
                self.done.append("silence")
            elif step == 3 and self.agent is None:  # a host that reports, then goes quiet
                self.agent = start_agent(ingest, "--host", f"soak-lost-{n}", "--interval", "0.5")
                self.done.append("host up")
            elif step == 5 and self.agent is not None:
                stop_proc(self.agent)
                self.agent = None
                self.done.append("host down")
        if self.agent is not None:
            stop_proc(self.agent)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(Path(tmp_path_factory.mktemp("soak")), "--host-timeout", "3s")
    agent = start_agent(b.endpoints["ingest"], "--simulate", "200", "--seed", str(SEED))
    try:
        wait_for(lambda: len(b.ctl_json("hosts")) >= 200, timeout=30, what="200 hosts")
        yield b
    finally:
        stop_proc(agent)
        b.stop()


def listed(app: MonitorApp) -> dict[str, str] | None:
    """What the alerts screen lists: alert id -> state (None when not on that screen)."""
    if app.current_mode != "alerts" or not app.screen.is_mounted:
        return None
    table = app.screen.query_one(AlertTable)
    return {a: app.model.alerts[a]["state"] for a in table._ids
            if a is not None and a in app.model.alerts}


async def ceiling_ms() -> tuple[float, float]:
    """The same walk for a few seconds on FrozenSource (14 hosts, no broker): what keys cost
    on this machine right now, with nothing else of ours running; (p50, p99). A busy box
    (other jobs on the same 2 cores) raises it, and the limits with it; an idle one leaves
    them at 250 ms (and 2 s for the p99 of the shared run)."""
    app = make_app(refresh_s=0.5)
    painter = Painter(app, SIZES[0])
    async with app.run_test(size=SIZES[0]) as pilot:
        await pilot.press("2", "3", "4", "question_mark", "escape", "1")  # first mounts
        walk = Walk(app, pilot, painter, SEED)
        end = time.monotonic() + CEILING_S
        while time.monotonic() < end:
            await walk.step()
            await pilot.pause(walk.rnd.choice([0.0, 0.02, 0.1]))
    return walk.p50_ms(), walk.p99_ms()


async def test_console_soak(fleet: Broker, request: pytest.FixtureRequest) -> None:
    seconds = soak_seconds(request.config)
    ceiling_p50, ceiling = await ceiling_ms()
    long_run = request.config.getoption("--soak-minutes") is not None
    # A long run is meant for a machine to itself: the target holds (or the same-run ceiling
    # says the box is slower than that). In `make test`, on 2 cores shared with the rest of
    # the suite and other jobs, one scheduler stall is the p99 of ~100 keys: the p99 there
    # only catches a console that cannot keep up. Either limit, and the p50's, gives way to
    # 3x the same-run ceiling on a box so loaded that the app alone is slower than that
    # (load average 15-25 on 2 cores: the ceiling's p99 was 0.7-3.1 s).
    limit = max(P99_LIMIT_MS if long_run else SHARED_P99_MS, CEILING_FACTOR * ceiling)
    p50_limit = max(P50_LIMIT_MS, CEILING_FACTOR * ceiling_p50)
    eps = fleet.endpoints
    app = MonitorApp(LiveSource({"soak": (eps["control"], eps["publish"])}), author="soak",
                     refresh_s=0.5)
    painter = Painter(app, SIZES[0])
    hosts = sorted(h["host"] for h in fleet.ctl_json("hosts"))
    incidents = Incidents(fleet, hosts)
    async with app.run_test(size=SIZES[0]) as pilot:
        await until(pilot, lambda: app.connections.get("soak") == "connected"
                    and len(app.model.hosts) >= 200, timeout=20, what="connected")
        # a dead key: no effect in 5 s, or 5x the ceiling's p99 on a box slower than that
        walk = Walk(app, pilot, painter, SEED,
                    effect_timeout=max(EFFECT_TIMEOUT_S, 5 * ceiling / 1000))
        walk.sampler = sampler.Sampler() if sampler.ENABLED else None
        walk.gc_times = sampler.GcTimes() if os.environ.get("SOAK_GC") else None
        incidents.start()
        try:
            end = time.monotonic() + seconds
            # a loaded box walks slower: go on (half as long again at most) until there
            # are enough timed keys to judge
            while time.monotonic() < end or (len(walk.latencies) < MIN_TIMED
                                              and time.monotonic() < end + seconds / 2):
                assert app.is_running, "the console stopped"
                await walk.step()
                await pilot.pause(walk.rnd.choice([0.0, 0.02, 0.05, 0.2]))
        finally:
            incidents.stopping.set()
            incidents.join(15)
            if walk.sampler is not None:
                walk.sampler.close()
            if walk.gc_times is not None:
                print("\ngc during the walk:", walk.gc_times.close())
        await walk.settle()
        if app.rewind.active:  # back to live before comparing with the broker
            await pilot.press("escape")
            await until(pilot, lambda: not app.rewind.active, what="live again")
        await pilot.resize_terminal(*SIZES[1])
        await pilot.press("2")
        await until(pilot, lambda: app.current_mode == "alerts", what="alerts screen")

        def agree() -> bool:
            shown = listed(app)
            truth = {a["id"]: a["state"] for a in fleet.ctl_json("alerts")}
            return shown == truth and shown == listed(app)
        await until(pilot, agree, timeout=30, what="alerts screen == monitor-ctl --json alerts")
        assert app.is_running
    print(f"\nsoak {seconds:.0f} s: {sum(walk.steps.values())} steps {walk.steps}, "
          f"incidents {len(incidents.done)}; {len(walk.latencies)} timed keys, "
          f"key->repaint p99 {walk.p99_ms():.0f} ms (target {P99_LIMIT_MS:.0f}; limit "
          f"{limit:.0f}; the 14-host ceiling on this box now: p50 {ceiling_p50:.0f}, "
          f"p99 {ceiling:.0f} ms; load average {os.getloadavg()[0]:.1f})")
    lat = sorted(walk.latencies)
    slowest = sorted(range(len(walk.timed)), key=lambda i: walk.timed[i][0], reverse=True)[:10]
    print(f"key->repaint p50 {lat[len(lat) // 2] * 1000:.0f} ms; slowest 10 (keys, screen, "
          "size): " + ", ".join("{1} {2} {3} {0:.0f} ms".format(walk.timed[i][0] * 1000,
                                                               *walk.timed[i][1:])
                                for i in slowest))
    for lat_, keys_, screen_, stats in walk.cprofiles:
        import io as _io
        buf = _io.StringIO()
        stats.stream = buf
        stats.sort_stats("cumulative").print_stats(40)
        print(f"== cProfile {keys_} -> {screen_} {lat_ * 1000:.0f} ms\n" + buf.getvalue())
    if walk.sampler is not None:
        import pickle
        with open(os.environ["SOAK_SAMPLE"], "wb") as out:
            pickle.dump([(walk.timed[i], walk.profiles.get(i)) for i in slowest], out)
    for i in slowest if walk.sampler is not None else ():
        samples, counts, _ = walk.profiles.get(i, (0, {}, {}))
        print(f"-- {walk.timed[i][1]} {walk.timed[i][2]} {walk.timed[i][3]} "
              f"{walk.timed[i][0] * 1000:.0f} ms, {samples} samples:")
        for name, n in sorted(counts.items(), key=lambda kv: -kv[1])[:45]:
            print(f"   {n:4d} {name}")
    assert len(walk.latencies) >= MIN_TIMED, "too few timed keys to judge"
    assert lat[len(lat) // 2] * 1000 <= p50_limit
    assert walk.p99_ms() <= limit
