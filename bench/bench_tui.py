"""How the console copes with a big fleet: key-to-repaint latency and CPU share.

    python -m bench.bench_tui [--hosts 1000] [--seconds 8] [--only keys|chart]

Also times the host screen's chart range switch (``>``/``<`` between 7 d and 30 d of
hourly rollups, 720 points), cached and with a history request each press.

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
from tui.sources import frozen_data
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


async def chart_switch(hosts: int, presses: int, cached: bool) -> dict[str, Any]:
    """``>``/``<`` on the host screen between 7 d and 30 d (168 and 720 hourly rollups, the
    30 days of the frozen store) while the fleet updates; each press timed to the first
    repaint after the chart drew the new range. ``cached=False`` empties the chart's cache
    first, so every press is a ``history`` request through the broker's own handler and
    SQLite (FrozenSource) and a reply; ``cached=True`` is the app's own cost of a switch."""
    from tui.widgets.metric_chart import MetricChart
    from tui.widgets.trend_chart import TrendChart

    snap = frozen_data.snapshot(n_extra=max(0, hosts - len(frozen_data.HOSTS)))
    snap["hosts"] = snap["hosts"][:hosts]
    app = MonitorApp(FrozenSource(snap), refresh_s=0.5)
    app.selected_host = "web-2"
    paints: list[float] = []
    drawn: list[tuple[float, float]] = []  # (time, span) of each chart render
    sink = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor",
                   width=SIZE[0], height=SIZE[1])
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(sink)
            paints.append(time.perf_counter())
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    names = [h["host"] for h in snap["hosts"]]
    latencies: list[float] = []
    cpus: list[float] = []
    points = 0
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        while not app.screen.query(TrendChart):
            await asyncio.sleep(0.01)
        chart, mc = app.screen.query_one(TrendChart), app.screen.query_one(MetricChart)
        render = chart.render

        def timed_render() -> Any:
            out = render()
            if chart.message is None:
                drawn.append((time.perf_counter(), chart.t1 - chart.t0))
            return out

        chart.render = timed_render  # type: ignore[method-assign]
        for key in ("greater_than_sign",) * 4:  # 1h -> 30d, every range fetched once
            await pilot.press(key)
        while not (chart.message is None and chart.t1 - chart.t0 == 30 * 86400):
            await asyncio.sleep(0.01)
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
        await asyncio.sleep(1.0)
        key, span = "less_than_sign", 7 * 86400.0
        for _ in range(presses):
            if not cached:
                mc.cache.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            await pilot.press(key)
            while True:
                done = [t for t, s in drawn if t >= t0 and s == span]
                if done and paints and paints[-1] >= done[0]:
                    break
                await asyncio.sleep(0.001)
            cpus.append(time.process_time() - c0)  # a loaded box stretches wall time
            latencies.append(min(p for p in paints if p >= done[0]) - t0)
            points = max(points, len(chart.series[0].points))
            key, span = (("greater_than_sign", 30 * 86400.0) if key == "less_than_sign"
                         else ("less_than_sign", 7 * 86400.0))
            await asyncio.sleep(0.15)
        stop.set()
        await feeder
    lat, cpu = sorted(latencies), sorted(cpus)
    return {"hosts": hosts, "cached": cached, "presses": len(lat), "points": points,
            "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "cpu_p50_ms": statistics.median(cpu) * 1000,
            "cpu_p99_ms": cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))] * 1000}


# Dashboard keys by kind: scroll, sort (o cycles the column, r reverses) and filter (typing
# in the / box: each character re-filters the fleet, a bad prefix like `cpu>` keeps the last).
DASH_KEYS = [("scroll", "down"), ("scroll", "pagedown"), ("scroll", "up"), ("sort", "o"),
             ("scroll", "down"), ("sort", "r"), ("filter", "slash"), *[("filter", c) for c in "cpu>5"],
             ("filter", "backspace"), ("filter", "backspace"), ("filter", "backspace"),
             ("filter", "backspace"), ("filter", "backspace"), ("filter", "1"), ("filter", "escape")]


async def run_dashboard(hosts: int, seconds: float, size: tuple[int, int] = SIZE
                        ) -> dict[str, Any]:
    """Key -> repaint on the dashboard by kind of key (DASH_KEYS), metrics flowing as in
    ``run``; p50/p99 per kind."""
    snap = frozen_data.snapshot(n_extra=max(0, hosts - len(frozen_data.HOSTS)))
    snap["hosts"] = snap["hosts"][:hosts]
    app = MonitorApp(FrozenSource(snap), refresh_s=0.5)
    paints: list[float] = []
    sink = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor",
                   width=size[0], height=size[1])
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(sink)
            paints.append(time.perf_counter())
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    names = [h["host"] for h in snap["hosts"]]
    by_kind: dict[str, list[float]] = {}
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        stop = asyncio.Event()

        async def feed() -> None:
            tick = 0
            while not stop.is_set():
                chunk = [n for i, n in enumerate(names) if i % 10 == tick % 10]
                now = app.now()
                app.post_message(MetricsUpdate("frozen", {
                    n: (now, metrics_for(i, tick // 10)) for i, n in enumerate(chunk)}))
                tick += 1
                await asyncio.sleep(0.1)

        feeder = asyncio.create_task(feed())
        await asyncio.sleep(1.0)
        wall0 = time.perf_counter()
        n = 0
        while time.perf_counter() - wall0 < seconds:
            kind, key = DASH_KEYS[n % len(DASH_KEYS)]
            n += 1
            t0 = time.perf_counter()
            await pilot.press(key)
            while (not paints or paints[-1] < t0) and time.perf_counter() - t0 < 5:
                await asyncio.sleep(0.001)
            after = [p for p in paints if p >= t0]
            if after:
                by_kind.setdefault(kind, []).append(after[0] - t0)
            await asyncio.sleep(0.15)
        stop.set()
        await feeder
    out: dict[str, Any] = {"hosts": hosts}
    for kind, lat in by_kind.items():
        lat.sort()
        out[kind] = (len(lat), statistics.median(lat) * 1000,
                     lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000)
    return out


def print_dashboard(hosts: list[int], seconds: float) -> None:
    rows = [asyncio.run(run_dashboard(n, seconds)) for n in hosts]
    print(f"{'hosts':>6} {'key':>7} {'presses':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for r in rows:
        for kind in ("scroll", "sort", "filter"):
            if kind in r:
                count, p50, p99 = r[kind]
                print(f"{r['hosts']:>6} {kind:>7} {count:>8} {p50:>8.1f} {p99:>8.1f}")
    worst = max(r.get(k, (0, 0, 0))[2] for r in rows[1:] for k in ("scroll", "sort", "filter"))
    ceil = max(rows[0].get(k, (0, 0, 0))[2] for k in ("scroll", "sort", "filter"))
    print(f"worst p99 {worst:.1f} ms vs ceiling ({rows[0]['hosts']} hosts) {ceil:.1f} ms: "
          f"x{worst / max(ceil, 1e-9):.1f} (target p99 <= 100 ms at 10,000 hosts)")


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
    p.add_argument("--chart-presses", type=int, default=40,
                   help="range switches timed per chart run")
    p.add_argument("--opens", type=int, default=40, help="incident views opened per run")
    p.add_argument("--only", choices=("keys", "chart", "incident"), default=None,
                   help="run only the key latency runs, the chart range switch or the "
                   "incident view's opening")
    p.add_argument("--size", nargs="+", default=[f"{SIZE[0]}x{SIZE[1]}"], metavar="WxH",
                   help="terminal sizes of the incident view's runs")
    p.add_argument("--no-live", action="store_true",
                   help="incident: skip the round trip to a real broker")
    p.add_argument("--dashboard", action="store_true",
                   help="dashboard keys (scroll, sort, filter) at 10, 1,000 and --hosts hosts")
    args = p.parse_args()
    if args.dashboard:
        print_dashboard(sorted({10, 1000, args.hosts}), args.seconds)
        return
    if args.only in (None, "incident"):
        from bench.tui_incident import print_incident

        try:
            sizes = [(int(w), int(h)) for w, h in (x.split("x") for x in args.size)]
        except ValueError:
            p.error(f"--size: give WxH (like 80x24), got {' '.join(args.size)}")
        print_incident(args.hosts, args.opens, sizes, live=not args.no_live)
    if args.only == "incident":
        return
    if args.only != "keys":
        chart_figures(args.hosts, args.chart_presses)
    if args.only == "chart":
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


def chart_figures(hosts: int, presses: int) -> None:
    runs = [asyncio.run(chart_switch(hosts, presses, cached=True)),
            asyncio.run(chart_switch(hosts, presses, cached=False))]
    print(f"switch chart range 7d <-> 30d (hourly rollups), {hosts} hosts updating:")
    print(f"{'run':>28} {'presses':>8} {'points':>7} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'cpu p50':>8} {'cpu p99':>8}")
    for r in runs:
        name = "cached (ceiling)" if r["cached"] else "history request each press"
        print(f"{name:>28} {r['presses']:>8} {r['points']:>7} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['cpu_p50_ms']:>8.1f} {r['cpu_p99_ms']:>8.1f}")
    print(f"request/cached: p99 x{runs[1]['p99_ms'] / max(runs[0]['p99_ms'], 1e-9):.1f} "
          "(target: p99 <= 100 ms at 30 days of hourly rollups)")


if __name__ == "__main__":
    main()
