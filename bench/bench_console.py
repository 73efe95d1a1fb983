"""The console alone at fleet scale: CPU share, memory and key -> paint at N hosts.

    python -m bench.bench_console [--hosts 10000] [--seconds 20] [--event-rate 5000]
                                  [--per-frame] [--json FILE]

bench_scale measures the whole chain (broker, simulator, console) but on a shared 2-core
machine the simulator cannot drive 10,000 hosts at 1 Hz. Here the console's link is stood
in for by what its session thread posts (tui/sources/session.py): a brief snapshot of N
hosts, the fleet digest of N hosts once a second (core/digest.py's wire form, packed and
unpacked as received), the metrics of the hosts the console follows (its view, each once a
second, in batches 10 times a second), and a few alert and event changes a second. The real ``MonitorApp`` (80x24,
headless) takes keys as bench/scale_console.py presses them: down x4 then ``o`` (the next
sort column), one every 250 ms, each posted as a terminal delivers it and timed to the
first repaint after its action has run. The same run at
10 hosts is the ceiling (the app's own cost). CPU is this process's (the UI thread and the
feeder, which is a cost the session thread would have: the decoding of the digest).
``--event-rate N`` runs each fleet size again under a flood of N host.down/host.up events
a second (bench/console_flood.py: decoded from the wire and batched by the session's own
coalescer), next to the same size at rate 0; ``--per-frame`` adds the flood posted one
message a frame, as before the batches. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import resource
import time
from pathlib import Path
from typing import Any

import msgpack
from rich.console import Console
from textual import events

from bench.console_flood import Flood
from core import digest as fleet
from tui.app import MonitorApp
from tui.messages import AlertChanged, DigestUpdate, EventReceived, MetricsUpdate
from tui.sources import frozen_data
from tui.sources.frozen import FrozenSource

SIZE = (80, 24)
KEY_WAIT_S = 10.0  # a key not answered within this counts as answered at this


def metrics_for(i: int, t: float) -> dict[str, float]:
    phase = i * 0.37 + t * 0.21
    cpu = 50 + 45 * math.sin(phase)
    return {"cpu.percent": round(cpu, 1), "mem.percent": round(60 + 20 * math.sin(phase / 3), 1),
            "disk./.percent": float(40 + i % 50), "load.1": round(cpu / 25, 2),
            "net.eth0.rx_bps": 1e6 + 5e5 * math.sin(phase), "net.eth0.tx_bps": 4e5}


def timed_actions(app: MonitorApp) -> list[float]:
    """When each key's action has run (the host table's cursor move, the dashboard's sort):
    a key's latency ends at the first paint after that."""
    from tui.widgets.host_table import HostTable

    handled: list[float] = []
    screen = app.screen
    table = screen.query_one(HostTable)
    for owner, name in ((table, "action_cursor"), (screen, "action_cycle_sort")):
        action = getattr(owner, name)

        def timed(*args: Any, _action: Any = action) -> None:
            _action(*args)
            handled.append(time.perf_counter())

        setattr(owner, name, timed)
    return handled


def digest_bytes(names: list[str], t: float) -> bytes:
    """The digest frame's field as the broker packs it (bytes: unpacked on every receipt)."""
    n = len(names)
    cols = {c: [] for c in fleet.COLUMNS}  # type: dict[str, list[float]]
    for i in range(n):
        phase = i * 0.37 + t * 0.21
        cpu = 50 + 45 * math.sin(phase)
        for c, v in (("cpu", cpu), ("mem", 60 + 20 * math.sin(phase / 3)), ("disk", 40 + i % 50),
                     ("rx", 1e6), ("tx", 4e5), ("load", cpu / 25), ("alerts", 0.0),
                     ("age", 0.5)):
            cols[c].append(v)
    return msgpack.packb({"ts": time.time(), "hosts": names, "status": "u" * n,
                          "figures": {c: fleet.pack_column(v) for c, v in cols.items()},
                          "top": {}, "counts": {"total": n, "up": n}})


async def run(hosts: int, seconds: float, event_rate: int = 0,
              per_frame: bool = False) -> dict[str, Any]:
    snap = frozen_data.snapshot()
    snap["hosts"] = snap["hosts"][:hosts] + [  # brief past VIEW_ABOVE: no metrics
        {"host": f"node-{i:05d}", "status": "up", "last_seen": frozen_data.NOW,
         "info": {"os": "Linux 6.8", "cores": 8}}
        for i in range(max(0, hosts - len(snap["hosts"])))]
    names = sorted(h["host"] for h in snap["hosts"])
    app = MonitorApp(FrozenSource(snap), refresh_s=0.5)
    paints: list[float] = []
    sink = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor",
                   width=SIZE[0], height=SIZE[1])
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and hasattr(renderable, "render_segments") \
                and not app._batch_count:
            renderable.render_segments(sink)
            paints.append(time.perf_counter())
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    digests = [digest_bytes(names, t) for t in range(4)]  # built ahead: the broker's work
    latencies: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        stop = asyncio.Event()

        async def feed() -> None:
            tick = 0
            while not stop.is_set():
                now = time.time()
                view = sorted(app.view_hosts())
                app.post_message(MetricsUpdate("frozen", {  # each host once a second
                    n: (now, metrics_for(i, tick // 10)) for i, n in enumerate(view)
                    if i % 10 == tick % 10}))
                if tick % 10 == 0:
                    app.post_message(DigestUpdate("frozen", msgpack.unpackb(
                        digests[(tick // 10) % len(digests)])))
                if tick % 3 == 0:  # a few alert changes and events a second
                    host = names[(tick * 7) % len(names)]
                    alert = frozen_data.alert(f"b{tick % 40}", "high_cpu_usage", host,
                                              "warning", "cpu.percent", 96.0, 95.0, now,
                                              state="firing" if tick % 2 else "pending")
                    app.post_message(AlertChanged("frozen", alert))
                    app.post_message(EventReceived("frozen", {
                        "id": f"ev{tick}", "ts": now, "kind": "alert", "severity": "warning",
                        "host": host, "message": f"high_cpu_usage on {host}"}))
                tick += 1
                await asyncio.sleep(0.1)

        feeder = asyncio.create_task(feed())
        flood = Flood(app, names, event_rate, per_frame)
        flood.start()
        await asyncio.sleep(3.0)  # warm up: digests applied, the table sorted once
        handled = timed_actions(app)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        n = 0
        while time.perf_counter() - wall0 < seconds:
            key = "o" if n % 5 == 4 else "down"
            t0 = time.perf_counter()
            # posted as a terminal delivers it: Pilot.press waits for an idle app, and a
            # flood keeps it from being idle (a press then timed the first paint of anything)
            app.post_message(events.Key(key, key if len(key) == 1 else None))
            while (not handled or handled[-1] < t0) and time.perf_counter() - t0 < KEY_WAIT_S:
                await asyncio.sleep(0.001)
            done = handled[-1] if handled and handled[-1] >= t0 else None
            while done is not None and (not paints or paints[-1] < done) \
                    and time.perf_counter() - t0 < KEY_WAIT_S:
                await asyncio.sleep(0.001)
            after = [p for p in paints if done is not None and p >= done]
            latencies.append((after[0] if after else time.perf_counter()) - t0)
            n += 1
            await asyncio.sleep(0.25)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        stop.set()
        flood.stop()
        await feeder
        known = len(app.model.hosts)
        kept = sum(app.model.event_kinds.values())
    lat = sorted(latencies) or [float("nan")]
    return {"hosts": hosts, "known": known, "presses": len(latencies),
            "event_rate": event_rate, "per_frame": per_frame, "events_sent": flood.sent,
            "events_seen": kept, "events_dropped": app.model.events_dropped,
            "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "cpu_share": cpu / wall, "slowest_ms": [round(x * 1000) for x in lat[-5:]],
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, nargs="+", default=[10000])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--event-rate", type=int, default=0, metavar="N",
                    help="also run each fleet size with N host.down/host.up events a second "
                    "(bench/console_flood.py); the same size at rate 0 is printed with it")
    ap.add_argument("--per-frame", action="store_true",
                    help="with --event-rate: also run the flood posted one message a frame "
                    "(the session before its batches), for comparison")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.event_rate < 0:
        ap.error(f"--event-rate must be 0 or more, got {args.event_rate}")
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    results = [asyncio.run(run(10, args.seconds))]
    for n in args.hosts:
        results.append(asyncio.run(run(n, args.seconds)))
        if args.event_rate:
            results.append(asyncio.run(run(n, args.seconds, args.event_rate)))
            if args.per_frame:
                results.append(asyncio.run(run(n, args.seconds, args.event_rate, True)))
    with open("/proc/loadavg") as f:
        load_end = f.read().split()[:3]
    print(f"load average at start: {' '.join(load)}, at the end: {' '.join(load_end)}")
    print(f"{'hosts':>6} {'events/s':>14} {'presses':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu':>6} "
          f"{'peak RSS':>9} {'events sent/seen/not kept':>27}")
    for r in results:
        rate = f"{r['event_rate']}{' per frame' if r['per_frame'] else ''}"
        print(f"{r['hosts']:>6} {rate:>14} {r['presses']:>8} {r['p50_ms']:>7.0f} "
              f"{r['p99_ms']:>7.0f} {r['cpu_share']:>6.0%} {r['max_rss_mb']:>7.0f} MB "
              f"{r['events_sent']:>9}/{r['events_seen']}/{r['events_dropped']}")
    ceiling = results[0]
    for r in results[1:]:
        quiet = next(q for q in results if q["hosts"] == r["hosts"] and not q["event_rate"])
        flood = f" at {r['event_rate']} events/s{' per frame' if r['per_frame'] else ''}" \
            if r["event_rate"] else ""
        print(f"{r['hosts']} hosts{flood} / 10-host ceiling: cpu x"
              f"{r['cpu_share'] / ceiling['cpu_share']:.2f}, p99 x"
              f"{r['p99_ms'] / ceiling['p99_ms']:.2f}" + (
                  f"; / the same fleet at rate 0: p99 x{r['p99_ms'] / quiet['p99_ms']:.2f}"
                  if r is not quiet else ""))
    print("targets at 10,000 hosts: cpu <= 20 % of a core, RSS <= 150 MB, p99 <= 100 ms "
          "(also at 5,000 events a second)")
    if args.json:
        args.json.write_text(json.dumps({"load": load, "runs": results}, indent=1))


if __name__ == "__main__":
    main()
