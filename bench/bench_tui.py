"""How the console copes with a big fleet: key-to-repaint latency and CPU share.

    python -m bench.bench_tui [--hosts 1000] [--seconds 8]

Drives MonitorApp headless on FrozenSource data with N hosts, feeding MetricsUpdate batches
every 100 ms exactly as the client worker posts them (each host once a second), while a key
(down / up in the host table) is pressed every 150 ms; a third run adds an alert storm. For each press it measures the time
until the next repaint (the compositor update, rendered to ANSI as a terminal would get
it). The same run with 10 hosts is the ceiling: the cost of the app itself. Prints, never
asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import statistics
import time
from typing import Any

from rich.console import Console

from tui.app import MonitorApp
from tui.messages import AlertChanged, MetricsUpdate
from tui.sources import frozen_data, frozen_incident
from tui.sources.frozen import FrozenSource

SIZE = (120, 40)


def metrics_for(i: int, t: int) -> dict[str, float]:
    phase = i * 0.37 + t * 0.21
    cpu = 50 + 45 * math.sin(phase)
    return {"cpu.percent": round(cpu, 1), "mem.percent": round(60 + 20 * math.sin(phase / 3), 1),
            "swap.percent": 1.0, "disk./.percent": round(40 + (i % 50), 1),
            "net.eth0.rx_bps": 1e6 + 5e5 * math.sin(phase), "load.5": 1.0,
            "net.eth0.tx_bps": 4e5 + 2e5 * math.cos(phase), "load.1": round(cpu / 25, 2),
            "load.15": 1.0, "proc.count": 200.0 + i % 7, "uptime": 86400.0 + t}


async def run(hosts: int, seconds: float, storm: int = 0) -> dict[str, Any]:
    """One scenario; ``storm`` alert changes a second on top of the metrics (an incident)."""
    snap = frozen_data.snapshot(n_extra=max(0, hosts - len(frozen_data.HOSTS)))
    snap["hosts"] = snap["hosts"][:hosts]
    app = MonitorApp(FrozenSource(snap), refresh_s=0.5)
    app.selected_host = snap["hosts"][0]["host"]
    paints: list[float] = []
    sink = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor",
                   width=SIZE[0], height=SIZE[1])
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(sink)  # the ANSI a terminal would receive
            paints.append(time.perf_counter())
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    names = [h["host"] for h in snap["hosts"]]
    latencies: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        stop = asyncio.Event()

        async def feed() -> None:
            tick = 0
            while not stop.is_set():
                chunk = [n for i, n in enumerate(names) if i % 10 == tick % 10]
                now = app.now()
                app.post_message(MetricsUpdate("frozen", {
                    n: (now, metrics_for(i, tick // 10)) for i, n in enumerate(chunk)}))
                for k in range(storm // 10):
                    host = names[(tick * 7 + k) % len(names)]
                    app.post_message(AlertChanged("frozen", frozen_data.alert(
                        f"storm{(tick * 7 + k) % 500}", "high_cpu_usage", host,
                        "critical" if k % 5 == 0 else "warning", "cpu.percent", 97.0, 95.0,
                        now - k, state="firing" if tick % 2 else "pending")))
                tick += 1
                await asyncio.sleep(0.1)

        feeder = asyncio.create_task(feed())
        await asyncio.sleep(1.0)  # warm up: every host has had an update
        wall0, cpu0 = time.perf_counter(), time.process_time()
        key = "down"
        while time.perf_counter() - wall0 < seconds:
            t0 = time.perf_counter()
            await pilot.press(key)
            while not paints or paints[-1] < t0:
                await asyncio.sleep(0.001)
            after = [p for p in paints if p >= t0]
            latencies.append(after[0] - t0)
            key = "up" if key == "down" else "down"
            await asyncio.sleep(0.15)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        stop.set()
        await feeder
    lat = sorted(latencies)
    return {"hosts": hosts, "storm": storm, "presses": len(lat), "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "cpu_share": cpu / wall, "paints_per_s": len(paints) / (wall + 1.0)}


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
            await pilot.press("enter")
            while not (isinstance(app.screen, IncidentScreen) and app.screen.complete):
                await asyncio.sleep(0.001)
            done = time.perf_counter()
            while not paints or paints[-1] < done:
                await asyncio.sleep(0.001)
            if i:
                latencies.append(next(p for p in paints if p >= done) - t0)
                cpu.append(time.process_time() - c0)
            await pilot.press("escape")
            while isinstance(app.screen, IncidentScreen):
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.1)
        stop.set()
        await feeder
    lat = sorted(latencies)
    return {"hosts": hosts, "opens": len(lat), "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "cpu_ms": statistics.median(cpu) * 1000}


def decode_share(hosts: int) -> float:
    """CPU share the client thread spends decoding ``hosts`` metrics frames a second."""
    from core import protocol

    frames = []
    for i in range(200):
        frame = protocol.metrics_frame(f"node-{i}", "a", "b", i, time.time(), metrics_for(i, 0))
        frame["pseq"] = i
        frames.append(protocol.encode(frame))
    t0 = time.process_time()
    for _ in range(10):
        for parts in frames:
            protocol.decode(parts)
    per_frame = (time.process_time() - t0) / (10 * len(frames))
    return per_frame * hosts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--storm", type=int, default=200, help="alert changes/s in the third run")
    p.add_argument("--opens", type=int, default=40, help="incident views opened per run")
    p.add_argument("--only", choices=("keys", "incident"), help="run one part only")
    args = p.parse_args()
    if args.only != "keys":
        print_incident(args.hosts, args.opens)
    if args.only == "incident":
        return
    ceiling = asyncio.run(run(10, args.seconds))
    fleet = asyncio.run(run(args.hosts, args.seconds))
    storm = asyncio.run(run(args.hosts, args.seconds, storm=args.storm))
    print(f"{'hosts':>6} {'alerts/s':>8} {'presses':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'cpu share':>10} {'paints/s':>9}")
    for r in (ceiling, fleet, storm):
        print(f"{r['hosts']:>6} {r['storm']:>8} {r['presses']:>8} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['cpu_share']:>9.0%} {r['paints_per_s']:>9.1f}")
    decode = decode_share(args.hosts)
    print(f"client thread decoding {args.hosts} frames/s (not in the figures above): "
          f"{decode:.1%} of a core")
    print(f"fleet/ceiling: p99 latency x{fleet['p99_ms'] / max(ceiling['p99_ms'], 1e-9):.1f}, "
          f"cpu x{fleet['cpu_share'] / max(ceiling['cpu_share'], 1e-9):.1f} "
          f"(targets: key reflected within 100 ms, TUI under 30% of one core)")


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


if __name__ == "__main__":
    main()
