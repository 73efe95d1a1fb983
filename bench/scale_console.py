"""A headless console attached to a real broker, for bench/bench_scale.py.

    python -m bench.scale_console --control EP --publish EP [--seconds 20] [--size 80x24]

Runs the real ``MonitorApp`` on a ``LiveSource`` (the same worker thread and sockets as
``monitor-tui``) without a terminal, waits until it shows the broker's hosts, prints
``ready`` and then, for ``--seconds``, scrolls the host table (down, down, ...) and cycles
the sort column every fifth key, timing each key until the next repaint (the frame a
terminal would be sent). Prints one JSON line: presses, p50/p99 in ms, the frames the
console's link received by kind, and the hosts it knew. bench_scale measures this
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


async def run(control: str, publish: str, seconds: float, size: tuple[int, int],
              expect: int) -> dict[str, Any]:
    from tui.app import MonitorApp
    from tui.sources.live import LiveSource

    source = LiveSource({"bench": (control, publish)}, timeout=10.0)
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
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 120
        while len(app.model.hosts) < expect and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        print("ready", len(app.model.hosts), flush=True)
        t_end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < t_end:
            key = "o" if n % 5 == 4 else "down"
            t0 = time.perf_counter()
            await pilot.press(key)
            while (not paints or paints[-1] < t0) and time.perf_counter() - t0 < 5:
                await asyncio.sleep(0.001)
            after = [p for p in paints if p >= t0]
            if after:
                latencies.append(after[0] - t0)
            n += 1
            await asyncio.sleep(0.25)
        link = source.links["bench"]
        frames: dict[str, int] = {}  # by topic prefix: m (metrics), d (digest), a, e, h, l
        for topic, count in link.topics.items():
            key = topic[:1].decode()
            frames[key] = frames.get(key, 0) + count
        hosts = len(app.model.hosts)
    lat = sorted(latencies) or [float("nan")]
    return {"presses": len(latencies), "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
            "frames": frames, "hosts": hosts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--control", required=True)
    ap.add_argument("--publish", required=True)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--expect", type=int, default=1, help="hosts to wait for before 'ready'")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    result = asyncio.run(run(args.control, args.publish, args.seconds, (w, h), args.expect))
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
