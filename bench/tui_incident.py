"""The incident view's figures for bench/bench_tui.py: Enter on an alert -> the complete
screen painted, on frozen data at N hosts and against a real broker's ``incident`` op.

    python -m bench.bench_tui --only incident [--hosts 1000] [--opens 40]
                              [--size 80x24 200x60] [--no-live]
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


async def incident_open(hosts: int, opens: int, size: tuple[int, int] = SIZE) -> dict[str, Any]:
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
    served = [0.0]  # CPU in the frozen source's broker handlers (a live broker's, not ours)
    request = source.request

    def timed_request(*args: Any, **kwargs: Any) -> str:
        c0 = time.process_time()
        try:
            return request(*args, **kwargs)
        finally:
            served[0] += time.process_time() - c0

    source.request = timed_request  # type: ignore[method-assign]
    paints: list[float] = []
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(Console(file=io.StringIO(), force_terminal=True,
                                               width=size[0], height=size[1]))
            paints.append(time.perf_counter())
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    names = [h["host"] for h in snap["hosts"]]
    latencies: list[float] = []
    cpu: list[float] = []
    ui_cpu: list[float] = []
    async with app.run_test(size=size) as pilot:
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
            t0, c0, s0 = time.perf_counter(), time.process_time(), served[0]
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
                ui_cpu.append(cpu[-1] - (served[0] - s0))
            app.post_message(events.Key("escape", None))
            while isinstance(app.screen, IncidentScreen):
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.1)
        stop.set()
        await feeder
    lat = sorted(latencies)
    return {"hosts": hosts, "size": f"{size[0]}x{size[1]}", "opens": len(lat),
            "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "cpu_ms": statistics.median(cpu) * 1000,
            "ui_cpu_ms": statistics.median(ui_cpu) * 1000}


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


def print_incident(hosts: int, opens: int, sizes: list[tuple[int, int]] | None = None,
                   live: bool = True) -> None:
    sizes = sizes or [SIZE]
    runs = []
    for size in sizes:
        runs += [asyncio.run(incident_open(10, opens, size)),
                 asyncio.run(incident_open(hosts, opens, size))]
    print("open the incident view (enter on an alert -> complete screen painted):")
    print("(cpu: this process per open, median; ui cpu: without the frozen source's broker "
          "handlers, which a live console leaves to the broker)")
    print(f"{'size':>8} {'hosts':>6} {'opens':>6} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms':>7} "
          f"{'ui cpu ms':>9}")
    for r in runs:
        print(f"{r['size']:>8} {r['hosts']:>6} {r['opens']:>6} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['cpu_ms']:>7.1f} {r['ui_cpu_ms']:>9.1f}")
    for ceiling, fleet in zip(runs[::2], runs[1::2], strict=True):
        print(f"{fleet['size']}: fleet/ceiling p99 x"
              f"{fleet['p99_ms'] / max(ceiling['p99_ms'], 1e-9):.2f} "
              f"(target: p99 <= 150 ms at {hosts} hosts)")
    if live:
        r = incident_broker(hosts, opens)
        print(f"the incident request to a real broker with {hosts} simulated hosts (the live "
              f"round trip): p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")
