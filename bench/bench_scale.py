"""Fleet scale: real brokers and a headless console under a simulated fleet at 1 Hz.

    python -m bench.bench_scale [--hosts N ...] [--seconds 20] [--shards S] [--drivers K]
                                [--json FILE] [--timeline]

For each fleet size (default 1,000, 5,000 and 10,000 hosts): ``--shards`` real
``monitor-broker`` processes (default 1; default rules, the store on), each carrying a slice
of the fleet, driven at 1 Hz by bench/fleet_driver.py processes (``--drivers`` per broker,
default one per 5,000 hosts: the fleet simulator's own values, packed cheaply), and a
headless console (bench/scale_console.py: the real MonitorApp on a LiveSource) attached
to every broker, scrolling and cycling the sort column. Over ``--seconds`` of steady state
it measures, from outside with psutil: each broker's CPU share of one core and RSS (peak),
the frames received a second (``--timeline``: also the broker's RSS every 0.5 s, printed
as the highest of each 5 s with the minute closes marked: long runs cross several); at the
end the drivers stop and every frame they sent since the start is set against every frame
the brokers received (frames lost also show as sequence gaps), the console's CPU share and
RSS and its key -> repaint p50/p99, and the drivers' CPU share. The ceiling, measured in the same run: a bare SUB socket + msgpack decode of the same frames;
the broker's figure against it is frames per CPU-second (received/s over its CPU share:
what it would take on a whole core at this cost per frame; with shards, over their summed
CPU). Prints; never asserts.
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
from tests.procs import ENV, Broker, stop_proc


class Sampler(threading.Thread):
    """CPU share (of one core) and peak RSS of a process, from start() to stop(); RSS is
    read every ``every`` seconds, and kept (``timeline``: (seconds since start, bytes))."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.every = every
        self.timeline: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self.t0 = time.monotonic()
        self.c0 = self._cpu()
        self.share = 0.0

    def _cpu(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system

    def run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                rss = self.proc.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.timeline.append((time.monotonic() - self.t0, rss))

    def stop(self) -> tuple[float, int]:
        try:
            self.share = (self._cpu() - self.c0) / (time.monotonic() - self.t0)
            self.peak = max(self.peak, self.proc.memory_info().rss)
        except psutil.Error:
            pass
        self._stop.set()
        return self.share, self.peak


class Drivers:
    """The fleet: ``k`` bench/fleet_driver.py processes per broker, each a slice of one
    ``hosts``-host fleet; broker ``b`` carries slices ``b*k .. b*k+k-1``."""

    def __init__(self, hosts: int, ingests: list[str], k: int) -> None:
        total = k * len(ingests)
        self.procs = [subprocess.Popen(
            [sys.executable, "-m", "bench.fleet_driver", "--ingest", ingests[n // k],
             "--hosts", str(hosts), "--slice", f"{n}/{total}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
            for n in range(total)]
        for p in self.procs:
            assert p.stdout is not None
            if not p.stdout.readline().startswith("ready"):
                raise RuntimeError("a fleet driver did not start")

    def sent(self, line: str = "") -> int:
        """Frames sent so far by all drivers (``line="stop"``: stop them first)."""
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write(line + "\n")
            p.stdin.flush()
        total = 0
        for p in self.procs:
            assert p.stdout is not None
            total += json.loads(p.stdout.readline())["sent"]
        return total


    def stop(self) -> None:
        for p in self.procs:
            if p.stdin is not None:
                p.stdin.close()
            stop_proc(p)


def status(b: Broker) -> Any:
    """``monitor-ctl status`` with a long timeout: a broker taking in 10,000 new hosts on
    a loaded machine can be seconds late with a reply."""
    out = b.ctl("--json", "--timeout", "60", "status", timeout=90)
    if out.returncode:
        raise RuntimeError(f"status: {out.stderr.strip()}")
    return json.loads(out.stdout)


def stamped(b: Broker) -> dict[str, Any]:
    """A broker's ingest counters and the moment its reply came back."""
    out: dict[str, Any] = status(b)["ingest"]
    out["at"] = time.monotonic()
    return out


def frames_settled(brokers: list[Broker]) -> int:
    """The brokers' received frames, once no more arrive (after the drivers stopped)."""
    last = -1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = sum(status(b)["ingest"]["frames"] for b in brokers)
        if now == last:
            return now
        last = now
        time.sleep(0.5)  # poll
    return last

def steady(brokers: list[Broker], hosts: int, limit: float = 30.0) -> None:
    """Wait (up to ``limit`` s) until the brokers receive about one frame a host a second:
    frames queued in the drivers while 10,000 hosts joined arrive in a catch-up burst
    (1.3-1.4 frames a host a second for a while), which is not the 1 Hz steady state."""
    deadline = time.monotonic() + limit
    last = [stamped(b) for b in brokers]
    while time.monotonic() < deadline:
        time.sleep(2.0)  # poll
        now = [stamped(b) for b in brokers]
        rate = sum((b["frames"] - a["frames"]) / (b["at"] - a["at"])
                   for a, b in zip(last, now, strict=True))
        last = now
        if rate <= 1.1 * hosts:
            return


def one_size(hosts: int, seconds: float, tmp: Path, shards: int = 1,
             drivers: int = 0) -> dict[str, Any]:
    share = hosts // shards
    k = drivers or max(1, -(-share // 5000))  # a driver process per 5,000 hosts
    brokers = [Broker(tmp / f"data-{hosts}-{b}") for b in range(shards)]
    fleet = console = None
    err = tmp / f"console-{hosts}.err"
    try:
        fleet = Drivers(hosts, [b.endpoints["ingest"] for b in brokers], k)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(
                status(b)["hosts"] for b in brokers) < hosts:
            time.sleep(0.5)  # poll
        cmd = [sys.executable, "-m", "bench.scale_console", "--seconds", str(seconds),
               "--expect", str(hosts)]
        for b in brokers:
            cmd += ["--control", b.endpoints["control"], "--publish", b.endpoints["publish"]]
        console = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err.open("w"),
                                   text=True, env=ENV)
        assert console.stdout is not None
        ready = console.stdout.readline()
        if not ready.startswith("ready"):
            raise RuntimeError(f"console did not start: {ready!r}")
        time.sleep(2.0)  # the console's first paints and sorts settle (a benchmark)
        steady(brokers, hosts)
        samplers = {f"broker{n}": Sampler(b.proc.pid) for n, b in enumerate(brokers)}
        samplers["console"] = Sampler(console.pid)
        samplers.update({f"driver{n}": Sampler(p.pid) for n, p in enumerate(fleet.procs)})
        t0, wall0 = time.monotonic(), time.time()
        s0 = [stamped(b) for b in brokers]
        for smp in samplers.values():
            smp.start()
        out = console.stdout.readline()  # the console ends its key loop after ``seconds``
        figures = {name: smp.stop() for name, smp in samplers.items()}
        s1 = [stamped(b) for b in brokers]
        wall = time.monotonic() - t0
        sent = fleet.sent("stop")  # every frame since the start, against every one received
        received_all = frames_settled(brokers)
        if not out.strip().startswith("{"):
            tail = err.read_text()[-1500:]
            raise RuntimeError(f"the console failed at {hosts} hosts: {out!r}\n{tail}")
        cons = json.loads(out)
        received = sum(b["frames"] - a["frames"] for a, b in zip(s0, s1, strict=True))
        # each broker's own window: between the moments its two status replies came back
        rate = sum((b["frames"] - a["frames"]) / (b["at"] - a["at"])
                   for a, b in zip(s0, s1, strict=True))
        per_broker = [{"cpu": figures[f"broker{n}"][0],
                       "rss_mb": figures[f"broker{n}"][1] / 2**20} for n in range(shards)]
        return {"hosts": hosts, "shards": shards, "drivers": len(fleet.procs),
                "seconds": round(wall, 1),
                "broker_cpu": max(b["cpu"] for b in per_broker),
                "broker_rss_mb": max(b["rss_mb"] for b in per_broker),
                "brokers": per_broker, "sent": sent, "received_all": received_all,
                "received": received,
                "received_per_s": rate,
                "lost": sum(b["gaps"] - a["gaps"] for a, b in zip(s0, s1, strict=True)),
                "rejected": sum(b["rejected"] - a["rejected"]
                                for a, b in zip(s0, s1, strict=True)),
                "console_cpu": figures["console"][0],
                "console_rss_mb": figures["console"][1] / 2**20,
                "console_p50_ms": cons.get("p50_ms"), "console_p99_ms": cons.get("p99_ms"),
                "console_frames": cons.get("frames", {}), "console_hosts": cons.get("hosts"),
                "agent_cpu": sum(v[0] for n, v in figures.items() if n.startswith("driver")),
                # (wall clock at the sample, MB) of the busiest broker's RSS
                "broker_timeline": [(round(wall0 + t, 1), round(b / 2**20, 1))
                                    for t, b in samplers["broker0"].timeline]}
    finally:
        if console is not None:
            stop_proc(console)
        if fleet is not None:
            fleet.stop()
        for b in brokers:
            b.stop()


def timeline(points: list[tuple[float, float]]) -> str:
    """The broker's RSS, one figure per 5 s (the highest in it), and the minutes' closes
    (``|`` before the first figure after a wall-clock minute, when the store writes it)."""
    if not points:
        return "broker RSS timeline: no samples"
    out, t0 = [], points[0][0]
    slot, top, minute = 0, 0.0, int(t0 // 60)
    for t, mb in points:
        n = int((t - t0) // 5)
        if n != slot:
            out.append(f"{top:.0f}")
            slot, top = n, 0.0
        if int(t // 60) != minute:
            minute = int(t // 60)
            out.append("|")
        top = max(top, mb)
    out.append(f"{top:.0f}")
    return ("broker RSS MB every 5 s (| a minute closes), peak "
            f"{max(mb for _, mb in points):.0f}: " + " ".join(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--seconds", type=float, default=20.0, help="steady state measured per size")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--timeline", action="store_true",
                    help="also print the broker's RSS every 5 s (sampled every 0.5 s)")
    ap.add_argument("--shards", type=int, default=1,
                    help="brokers sharing the fleet (each a slice), one console on all")
    ap.add_argument("--drivers", type=int, default=0,
                    help="fleet driver processes per broker (default: one per 5,000 hosts)")
    args = ap.parse_args()
    if args.shards < 1 or args.drivers < 0 or min(args.hosts) < args.shards:
        ap.error("--shards and --hosts must be at least 1 (a host per shard), --drivers >= 0")
    top = ceiling(fleet_frames(30_000, 1000))
    print(f"ceiling (bare SUB + msgpack decode, same frames): {top:,.0f} frames/s")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.hosts:
            try:
                r = one_size(n, args.seconds, Path(tmp), args.shards, args.drivers)
            except RuntimeError as exc:  # a broker too starved to answer: say so, go on
                print(f"{n:>6} hosts on {args.shards} broker(s): no figures: {exc}",
                      flush=True)
                results.append({"hosts": n, "shards": args.shards, "error": str(exc)})
                continue
            r["ceiling"] = top
            # what the broker would take on a whole core at this cost per frame
            r["per_cpu_s"] = r["received_per_s"] / max(sum(b["cpu"] for b in r["brokers"]), 1e-9)
            results.append(r)
            kinds = ", ".join(f"{k} {v / r['seconds']:,.0f}/s"
                              for k, v in sorted(r["console_frames"].items()))
            each = " + ".join(f"{b['cpu']:.0%}/{b['rss_mb']:,.0f} MB" for b in r["brokers"])
            print(f"{n:>6} hosts on {r['shards']} broker(s) ({each}): broker {r['broker_cpu']:.0%} "
                  f"of a core, {r['broker_rss_mb']:,.0f} MB (the busiest); {r['received_per_s']:,.0f} "
                  f"frames/s received; over the whole run sent {r['sent']:,}, received "
                  f"{r['received_all']:,} ({r['received_per_s'] / n:.2f} per host; lost {r['lost']}, rejected "
                  f"{r['rejected']}); per CPU-second {r['per_cpu_s']:,.0f} frames = "
                  f"{r['per_cpu_s'] / top:.2f} of ceiling | console "
                  f"{r['console_cpu']:.0%}, {r['console_rss_mb']:,.0f} MB, key->paint p50 "
                  f"{r['console_p50_ms']:.0f} ms p99 {r['console_p99_ms']:.0f} ms, "
                  f"{r['console_hosts']} hosts; frames {kinds or '?'} | agent "
                  f"{r['agent_cpu']:.0%}", flush=True)
            if args.timeline:
                print(timeline(r["broker_timeline"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"ceiling": top, "sizes": results}, indent=2))


if __name__ == "__main__":
    main()
