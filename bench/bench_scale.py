"""Fleet scale: a real broker and a headless console under a simulated fleet at 1 Hz.

    python -m bench.bench_scale [--hosts N ...] [--seconds 20] [--json FILE]

For each fleet size (default 1,000, 5,000 and 10,000 hosts): a real ``monitor-broker``
process (default rules, the store on), ``monitor-agent --simulate N`` at 1 Hz, and a
headless console (bench/scale_console.py: the real MonitorApp on a LiveSource) attached
to it, scrolling and cycling the sort column. Over ``--seconds`` of steady state it
measures, from outside with psutil: the broker's CPU share of one core and RSS (peak), the
frames it received against those the fleet sent (frames lost show as sequence gaps), the
console's CPU share and RSS and its key -> repaint p50/p99, and the agent's CPU share. The
ceiling, measured in the same run: a bare SUB socket + msgpack decode of the same frames;
the broker's figure against it is frames per CPU-second (received/s over its CPU share:
what it would take on a whole core at this cost per frame). Prints; never asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench.bench_ingest import ceiling, fleet_frames
from tests.procs import ENV, Broker, start_agent, stop_proc


class Sampler(threading.Thread):
    """CPU share (of one core) and peak RSS of a process, from start() to stop()."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self.t0 = time.monotonic()
        self.c0 = self._cpu()
        self.share = 0.0

    def _cpu(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system

    def run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> tuple[float, int]:
        try:
            self.share = (self._cpu() - self.c0) / (time.monotonic() - self.t0)
            self.peak = max(self.peak, self.proc.memory_info().rss)
        except psutil.Error:
            pass
        self._stop.set()
        return self.share, self.peak


def one_size(hosts: int, seconds: float, tmp: Path) -> dict[str, Any]:
    broker = Broker(tmp / f"data-{hosts}")
    agent = console = None
    err = tmp / f"console-{hosts}.err"
    try:
        agent = start_agent(broker.endpoints["ingest"], "--simulate", str(hosts),
                            "--interval", "1")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and broker.ctl_json("status")["hosts"] < hosts:
            time.sleep(0.5)  # poll
        console = subprocess.Popen(
            [sys.executable, "-m", "bench.scale_console", "--control",
             broker.endpoints["control"], "--publish", broker.endpoints["publish"],
             "--seconds", str(seconds), "--expect", str(hosts)],
            stdout=subprocess.PIPE, stderr=err.open("w"), text=True, env=ENV)
        assert console.stdout is not None
        ready = console.stdout.readline()
        if not ready.startswith("ready"):
            raise RuntimeError(f"console did not start: {ready!r}")
        time.sleep(2.0)  # the console's first paints and sorts settle (a benchmark)
        samplers = {name: Sampler(p.pid) for name, p in
                    (("broker", broker.proc), ("console", console), ("agent", agent))}
        s0 = broker.ctl_json("status")
        for s in samplers.values():
            s.start()
        t0 = time.monotonic()
        out = console.stdout.readline()  # the console ends its key loop after ``seconds``
        wall = time.monotonic() - t0
        s1 = broker.ctl_json("status")
        figures = {name: s.stop() for name, s in samplers.items()}
        if not out.strip().startswith("{"):
            tail = err.read_text()[-1500:]
            raise RuntimeError(f"the console failed at {hosts} hosts: {out!r}\n{tail}")
        cons = json.loads(out)
        received = s1["ingest"]["frames"] - s0["ingest"]["frames"]
        lost = s1["ingest"]["gaps"] - s0["ingest"]["gaps"]
        return {"hosts": hosts, "seconds": round(wall, 1),
                "broker_cpu": figures["broker"][0], "broker_rss_mb": figures["broker"][1] / 2**20,
                "received_per_s": received / wall, "lost": lost,
                "rejected": s1["ingest"]["rejected"] - s0["ingest"]["rejected"],
                "console_cpu": figures["console"][0],
                "console_rss_mb": figures["console"][1] / 2**20,
                "console_p50_ms": cons.get("p50_ms"), "console_p99_ms": cons.get("p99_ms"),
                "console_frames": cons.get("frames", {}), "console_hosts": cons.get("hosts"),
                "agent_cpu": figures["agent"][0]}
    finally:
        if console is not None:
            stop_proc(console)
        if agent is not None:
            stop_proc(agent)
        broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--seconds", type=float, default=20.0, help="steady state measured per size")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    top = ceiling(fleet_frames(30_000, 1000))
    print(f"ceiling (bare SUB + msgpack decode, same frames): {top:,.0f} frames/s")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.hosts:
            r = one_size(n, args.seconds, Path(tmp))
            r["ceiling"] = top
            # what the broker would take on a whole core at this cost per frame
            r["per_cpu_s"] = r["received_per_s"] / max(r["broker_cpu"], 1e-9)
            results.append(r)
            kinds = ", ".join(f"{k} {v / r['seconds']:,.0f}/s"
                              for k, v in sorted(r["console_frames"].items()))
            print(f"{n:>6} hosts: broker {r['broker_cpu']:.0%} of a core, "
                  f"{r['broker_rss_mb']:,.0f} MB; received {r['received_per_s']:,.0f} frames/s "
                  f"({r['received_per_s'] / n:.2f} per host; lost {r['lost']}, rejected "
                  f"{r['rejected']}); per CPU-second {r['per_cpu_s']:,.0f} frames = "
                  f"{r['per_cpu_s'] / top:.2f} of ceiling | console "
                  f"{r['console_cpu']:.0%}, {r['console_rss_mb']:,.0f} MB, key->paint p50 "
                  f"{r['console_p50_ms']:.0f} ms p99 {r['console_p99_ms']:.0f} ms, "
                  f"{r['console_hosts']} hosts; frames {kinds or '?'} | agent "
                  f"{r['agent_cpu']:.0%}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"ceiling": top, "sizes": results}, indent=2))


if __name__ == "__main__":
    main()
