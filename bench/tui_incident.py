"""The incident view's figures for bench/bench_tui.py: Enter on an alert -> the complete
screen painted, on frozen data at N hosts and against a real broker's ``incident`` op.

    python -m bench.bench_tui --only incident [--hosts 1000] [--opens 40]
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from typing import Any

from rich.console import Console
from textual import events

from bench.bench_tui import SIZE, metrics_for
from tui.app import MonitorApp
from tui.messages import MetricsUpdate
from tui.sources import frozen_data, frozen_incident
from tui.sources.frozen import FrozenSource


async def incident_open(hosts: int, opens: int) -> dict[str, Any]:
    """Enter on an alert -> the first repaint after the incident view is complete (its
    ``incident`` reply and its chart's ``history`` drawn), while the fleet's metrics flow.
    The frozen source answers through the broker's own handlers and a real SQLite store, in
    process: a live broker adds its round trip (see ``incident_broker``)."""
    from tui.screens.incident import IncidentScreen

    snap = frozen_data.snapshot(n_extra=max(0, hosts - len(frozen_data.HOSTS)))
    snap["hosts"] = snap["hosts"][:hosts]
    source = FrozenSource(snap)
    source.stored_only = frozen_incident.log_lines(source.clock.time())
    app = MonitorApp(source, refresh_s=0.5)
    paints: list[float] = []
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(Console(file=io.StringIO(), force_terminal=True,
                                               width=SIZE[0], height=SIZE[1]))
            paints.append(time.perf_counter())
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    names = [h["host"] for h in snap["hosts"]]
    latencies: list[float] = []
    cpu: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        stop = asyncio.Event()

        async def feed() -> None:
            tick = 0
            while not stop.is_set():
                now = app.now()
                app.post_message(MetricsUpdate("frozen", {
                    n: (now, metrics_for(i, tick // 10)) for i, n in enumerate(names)
                    if i % 10 == tick % 10}))
                tick += 1
                await asyncio.sleep(0.1)

        feeder = asyncio.create_task(feed())
        for i in range(opens + 1):  # the first one builds the frozen store: not counted
            t0, c0 = time.perf_counter(), time.process_time()
            # posted as a terminal delivers it: Pilot.press would wait for the app to be
            # idle, which a fleet's metrics flowing in keep it from being
            app.post_message(events.Key("enter", None))
            while not (isinstance(app.screen, IncidentScreen) and app.screen.complete):
                await asyncio.sleep(0.001)
            done = time.perf_counter()
            while not paints or paints[-1] < done:
                await asyncio.sleep(0.001)
            if i:
                latencies.append(next(p for p in paints if p >= done) - t0)
                cpu.append(time.process_time() - c0)
            app.post_message(events.Key("escape", None))
            while isinstance(app.screen, IncidentScreen):
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.1)
        stop.set()
        await feeder
    lat = sorted(latencies)
    return {"hosts": hosts, "opens": len(lat), "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "cpu_ms": statistics.median(cpu) * 1000}


def incident_broker(hosts: int, asks: int) -> dict[str, Any]:
    """The ``incident`` request against a real broker fed by ``--simulate hosts`` (the round
    trip a live console adds to ``incident_open``): p50/p99 ms of ``asks`` requests."""
    import tempfile
    from pathlib import Path

    from core.client import ControlClient
    from tests.procs import Broker, start_agent, stop_proc

    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp) / "data")
        agent = start_agent(broker.endpoints["ingest"], "--simulate", str(hosts))
        try:
            with ControlClient(broker.endpoints["control"], timeout=10.0) as c:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and c.request("status")["hosts"] < hosts:
                    time.sleep(0.5)  # poll
                host = sorted(h["host"] for h in c.request("hosts"))[hosts // 2]
                [alert_id] = c.request("simulate", name="high_cpu_usage", host=host)["alert_ids"]
                c.request("incident", alert_id=alert_id)
                lat = []
                for _ in range(asks):
                    t0 = time.perf_counter()
                    c.request("incident", alert_id=alert_id)
                    lat.append(time.perf_counter() - t0)
                    time.sleep(0.05)  # poll
        finally:
            stop_proc(agent)
            broker.stop()
    lat.sort()
    return {"hosts": hosts, "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000}


def print_incident(hosts: int, opens: int) -> None:
    live = incident_broker(hosts, opens)
    ceiling = asyncio.run(incident_open(10, opens))
    fleet = asyncio.run(incident_open(hosts, opens))
    print(f"open the incident view (enter on an alert -> complete screen painted, {SIZE[0]}x"
          f"{SIZE[1]}):")
    print(f"{'hosts':>6} {'opens':>6} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms':>7}")
    for r in (ceiling, fleet):
        print(f"{r['hosts']:>6} {r['opens']:>6} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
              f"{r['cpu_ms']:>7.1f}")
    print(f"fleet/ceiling: p99 x{fleet['p99_ms'] / max(ceiling['p99_ms'], 1e-9):.2f} "
          f"(target: p99 <= 150 ms at {hosts} hosts)")
    print(f"the incident request to a real broker with {hosts} simulated hosts (the live "
          f"round trip): p50 {live['p50_ms']:.1f} ms, p99 {live['p99_ms']:.1f} ms")
