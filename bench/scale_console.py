"""A headless console attached to a real broker, for bench/bench_scale.py.

    python -m bench.scale_console --control EP --publish EP [...] [--seconds 20] [--size 80x24]

Runs the real ``MonitorApp`` on a ``LiveSource`` (the same worker thread and sockets as
``monitor-tui``) without a terminal, waits until it shows the broker's hosts, prints
``ready`` and then, for ``--seconds``, scrolls the host table (down, down, ...) and cycles
the sort column every fifth key (``--dashboard``: scroll, sort, compact and filter keys,
with p50/p99 by kind), timing each key until the next repaint (the frame a terminal would
be sent). Prints one JSON line: presses, p50/p99 in ms, the frames the console's link
received by kind, and the hosts it knew. bench_scale measures this
process's CPU and memory from outside.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from typing import Any

from rich.console import Console

# --dashboard: the dashboard's keys by kind (scroll, sort, filter), p50/p99 for each
DASHBOARD_KEYS = [("scroll", "down"), ("scroll", "pagedown"), ("sort", "P"), ("scroll", "down"),
                  ("sort", "M"), ("sort", "c"), ("filter", "slash"),
                  *[("filter", c) for c in "cpu>50"], ("filter", "escape"), ("sort", "c"),
                  ("sort", "N"), ("scroll", "up")]


async def run(brokers: dict[str, tuple[str, str]], seconds: float, size: tuple[int, int],
              expect: int, dashboard: bool = False) -> dict[str, Any]:
    from tui.app import MonitorApp
    from tui.sources.live import LiveSource

    source = LiveSource(brokers, timeout=10.0)
    app = MonitorApp(source)
    paints: list[float] = []
    sink = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor",
                   width=size[0], height=size[1])
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and hasattr(renderable, "render_segments") \
                and not app._batch_count:  # else Textual drops it: no paint
            renderable.render_segments(sink)
            paints.append(time.perf_counter())
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 120
        while len(app.model.hosts) < expect and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        print("ready", len(app.model.hosts), flush=True)
        t_end = time.perf_counter() + seconds
        n = 0
        keys = DASHBOARD_KEYS if dashboard else [("scroll", "down")] * 4 + [("sort", "o")]
        while time.perf_counter() < t_end:
            kind, key = keys[n % len(keys)]
            t0 = time.perf_counter()
            await pilot.press(key)
            while (not paints or paints[-1] < t0) and time.perf_counter() - t0 < 5:
                await asyncio.sleep(0.001)
            after = [p for p in paints if p >= t0]
            if after:
                latencies.append(after[0] - t0)
                by_kind.setdefault(kind, []).append(after[0] - t0)
            n += 1
            await asyncio.sleep(0.25)
        frames: dict[str, int] = {}  # by topic prefix: m (metrics), d (digest), a, e, h, l
        for link in source.links.values():
            for topic, count in link.topics.items():
                key = topic[:1].decode()
                frames[key] = frames.get(key, 0) + count
        hosts = len(app.model.hosts)
    lat = sorted(latencies) or [float("nan")]
    kinds = {k: {"presses": len(v), "p50_ms": sorted(v)[len(v) // 2] * 1000,
                 "p99_ms": sorted(v)[min(len(v) - 1, int(len(v) * 0.99))] * 1000}
             for k, v in by_kind.items()}
    return {"presses": len(latencies), "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "frames": frames, "hosts": hosts, "keys": kinds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--control", required=True, action="append",
                    help="a broker's control endpoint (repeat, with --publish, for shards)")
    ap.add_argument("--publish", required=True, action="append")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--expect", type=int, default=1, help="hosts to wait for before 'ready'")
    ap.add_argument("--dashboard", action="store_true",
                    help="press the dashboard's keys (scroll, sort, filter), p99 by kind")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    if len(args.control) != len(args.publish):
        sys.exit("scale_console: give one --publish per --control")
    brokers = {f"b{i + 1}": pair for i, pair in enumerate(zip(args.control, args.publish,
                                                               strict=True))}
    result = asyncio.run(run(brokers, args.seconds, (w, h), args.expect, args.dashboard))
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
