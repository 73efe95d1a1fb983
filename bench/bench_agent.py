"""The agent side by side: onset to alert, log line to alert, and what the agent costs.

    python -m bench.bench_agent [--trials 8] [--lines 200] [--seconds 30]

Real processes on loopback (the helpers of tests/procs.py): a monitor-broker, monitor-agent
processes, a webhook receiver in this process. Figures printed, in one table at the end:

1. **onset to alert**: N real CPU burns (one busy process per core) on this host; the time
   from the burn's start to the firing alert frame on the broker's publish socket and to
   the webhook POST, with the fast path (10 Hz) and without it (``--fast-rate 0``: the
   regular 1 s frame only). The rule is ``cpu.percent > LEVEL`` with no ``for``; LEVEL sits
   25 points above the CPU busy % measured first (60-95 %).
2. **log line to alert**: lines appended to a followed file; the time to the log event
   frame (``l.<host>``, every line) and to the alert frame of a ``log`` rule (one trial per
   alert: the rule's window is 1 s, so it resolves between trials).
   The same for a loopback flood (``net.lo.rx_bps > 300 MB/s``, the sender started at the
   onset): a shared machine's neighbours saturate the CPU, rarely the loopback.
3. **agent cost** at a 1 s interval with the fast path, processes (every 5 s) on, over
   ``--seconds``: CPU % of one core and RSS, against a bare loop making the same psutil
   calls at the same rates (the ceiling; ratio = agent / bare loop), both run at once.

Never asserts: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.agent_rig import Frames, Hook, firing, flood, pct, quiet, resolved
from tests.procs import Broker, start_agent, stop_proc

BURN = "while True:\n    pass\n"
BARE_LOOP = r"""
import time, psutil
attrs = ["pid", "cpu_times", "memory_info"]
mounts = [p.mountpoint for p in psutil.disk_partitions(all=False)]
t = time.monotonic(); n = 0
while True:
    psutil.cpu_times(); psutil.virtual_memory()            # the fast path, 10 Hz
    if n % 10 == 0:                                          # the regular frame, 1 Hz
        psutil.cpu_times(percpu=True); psutil.swap_memory()
        for m in mounts:
            psutil.disk_usage(m)
        psutil.disk_io_counters(perdisk=True); psutil.net_io_counters(pernic=True)
        psutil.getloadavg(); psutil.pids()
    if n % 50 == 0:                                          # processes, every 5 s
        procs = list(psutil.process_iter(attrs))
        for p in procs[:20]:
            try:
                with p.oneshot():
                    p.name(); p.username(); p.cmdline(); p.num_threads()
            except psutil.Error:
                pass
    n += 1
    t += 0.1
    time.sleep(max(0.0, t - time.monotonic()))
"""


def fired(hook: Hook, since: int) -> float | None:
    """Arrival of the first firing notification after the first ``since`` hits."""
    for t, body in hook.hits[since:]:
        if body.get("status") == "firing":
            return t
    return None


def idle_cpu(seconds: float = 2.0) -> float:
    psutil.cpu_percent(None)
    time.sleep(seconds)
    return psutil.cpu_percent(None)


def onset(tmp: Path, fast: bool, level: float, trials: int) -> dict[str, list[float]]:
    hook = Hook()
    conf = tmp / f"onset-{fast}.toml"
    conf.write_text(f'''
[[rule]]
name = "burn"
kind = "threshold"
metric = "cpu.percent"
op = ">"
critical = {level}
clear = 10

[[receiver]]
name = "hook"
type = "webhook"
url = "{hook.url}"

[[route]]
receiver = "hook"
group_wait = "0s"
group_interval = "10ms"
repeat_interval = "10ms"
''')
    broker = Broker(tmp / f"onset-{fast}", "--config", str(conf))
    frames = Frames(broker.endpoints["publish"])
    agent = start_agent(broker.endpoints["ingest"], "--host", "bench", "--interval", "1",
                        "--control", broker.endpoints["control"],
                        "--fast-rate", "10" if fast else "0")
    out: dict[str, list[float]] = {"frame": [], "webhook": []}
    try:
        frames.first(lambda f: f["kind"] == "metrics", 0, 20)
        time.sleep(2.0)  # let the fast path fetch its thresholds and settle
        for _ in range(trials):
            quiet(frames, "burn")
            n_hits = len(hook.hits)
            start = time.monotonic()
            burners = [subprocess.Popen([sys.executable, "-c", BURN])
                       for _ in range(os.cpu_count() or 1)]
            try:
                t_frame = frames.first(firing("burn"), start, 5)
                deadline = time.monotonic() + 5
                while not fired(hook, n_hits) and time.monotonic() < deadline:
                    time.sleep(0.005)  # poll
            finally:
                for b in burners:
                    b.kill()
                    b.wait()
            if t_frame is not None:
                out["frame"].append(t_frame - start)
            if (t_hook := fired(hook, n_hits)) is not None:
                out["webhook"].append(t_hook - start)
            frames.first(resolved("burn"), start, 8)
    finally:
        stop_proc(agent)
        frames.stop.set()
        broker.stop()
        hook.close()
    return out


def flood_onset(tmp: Path, fast: bool, trials: int, level: float = 300e6
                ) -> list[float]:
    """Onset to alert frame for a loopback flood (``net.lo.rx_bps > level``): a resource the
    neighbours of a shared machine do not saturate the way they do the CPU."""
    rules = tmp / f"flood-{fast}.toml"
    rules.write_text(f'[[rule]]\nname = "flood"\nkind = "threshold"\n'
                     f'metric = "net.lo.rx_bps"\nop = ">"\ncritical = {level}\n')
    broker = Broker(tmp / f"flood-{fast}", "--rules", str(rules))
    frames = Frames(broker.endpoints["publish"])
    agent = start_agent(broker.endpoints["ingest"], "--host", "bench-lo", "--interval", "1",
                        "--control", broker.endpoints["control"],
                        "--fast-rate", "10" if fast else "0")
    out: list[float] = []
    try:
        frames.first(lambda f: f["kind"] == "metrics", 0, 20)
        time.sleep(2.0)  # thresholds fetched
        for _ in range(trials):
            quiet(frames, "flood")
            stop = threading.Event()
            start = time.monotonic()
            t = threading.Thread(target=flood, args=(stop,))
            t.start()
            try:
                hit = frames.first(firing("flood"), start, 5)
            finally:
                stop.set()
                t.join()
            if hit is not None:
                out.append(hit - start)
            frames.first(resolved("flood"), start, 8)
    finally:
        stop_proc(agent)
        frames.stop.set()
        broker.stop()
    return out


def log_latency(tmp: Path, lines: int) -> dict[str, list[float]]:
    rules = tmp / "log-rules.toml"
    rules.write_text('[[rule]]\nname = "log_err"\nkind = "log"\npattern = "BENCH-ERR"\n'
                     'count = 1\nover = "1s"\nseverity = "critical"\n')
    log = tmp / "app.log"
    log.write_text("")
    broker = Broker(tmp / "log", "--rules", str(rules))
    frames = Frames(broker.endpoints["publish"])
    agent = start_agent(broker.endpoints["ingest"], "--host", "bench-log", "--interval", "1",
                        "--log-file", str(log), "--fast-rate", "0")
    out: dict[str, list[float]] = {"event": [], "alert": []}
    try:
        frames.first(lambda f: f["kind"] == "metrics", 0, 20)
        time.sleep(1.0)  # the follower is running
        with open(log, "a", encoding="utf-8") as fh:
            for i in range(lines):
                tag = f"bench-line-{i}"
                t0 = time.monotonic()
                fh.write(f"INFO {tag} handled\n")
                fh.flush()
                t = frames.first(lambda f, tag=tag: f["kind"] == "event"
                                 and tag in f["event"].get("message", ""), t0, 5)
                if t is not None:
                    out["event"].append(t - t0)
                time.sleep(0.02)
            for i in range(max(5, lines // 20)):
                t0 = time.monotonic()
                fh.write(f"ERROR BENCH-ERR {i} payment failed\n")
                fh.flush()
                t = frames.first(firing("log_err"), t0, 5)
                if t is not None:
                    out["alert"].append(t - t0)
                frames.first(resolved("log_err"), t0, 5)
    finally:
        stop_proc(agent)
        frames.stop.set()
        broker.stop()
    return out


def cost(tmp: Path, seconds: float) -> dict[str, tuple[float, float]]:
    rules = tmp / "cost-rules.toml"
    rules.write_text('[[rule]]\nname = "c"\nkind = "threshold"\nmetric = "cpu.percent"\n'
                     'critical = 99.9\n\n[[rule]]\nname = "m"\nkind = "threshold"\n'
                     'metric = "mem.percent"\ncritical = 99.9\n')
    broker = Broker(tmp / "cost", "--rules", str(rules))
    agent = start_agent(broker.endpoints["ingest"], "--host", "bench-cost", "--interval", "1",
                        "--control", broker.endpoints["control"])
    bare = subprocess.Popen([sys.executable, "-c", BARE_LOOP])
    try:
        time.sleep(3.0)  # start-up (imports) is not the steady cost
        procs = {"agent": psutil.Process(agent.pid), "bare loop": psutil.Process(bare.pid)}
        before = {k: sum(p.cpu_times()[:2]) for k, p in procs.items()}
        time.sleep(seconds)
        return {k: ((sum(p.cpu_times()[:2]) - before[k]) / seconds * 100.0,
                    p.memory_info().rss / 2**20) for k, p in procs.items()}
    finally:
        bare.kill()
        bare.wait()
        stop_proc(agent)
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_agent")
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        idle = idle_cpu()
        level = min(95.0, max(60.0, idle + 25.0))
        print(f"CPU busy before the burns {idle:.0f} %, burn rule: cpu.percent > {level:.0f}",
              flush=True)
        if idle > 70:
            print("warning: this machine is busy with other work; a CPU burn cannot move "
                  "cpu.percent much, so the onset figures mean little in this run", flush=True)
        fast = onset(tmp, True, level, args.trials)
        slow = onset(tmp, False, level, args.trials)
        flood_fast = flood_onset(tmp, True, args.trials)
        flood_slow = flood_onset(tmp, False, args.trials)
        logs = log_latency(tmp, args.lines)
        spend = cost(tmp, args.seconds)
    ms = 1000.0
    print("\n| figure | median | p99 | n |\n|---|---|---|---|")
    for name, vals in (("onset -> alert frame, fast path (10 Hz)", fast["frame"]),
                       ("onset -> webhook, fast path", fast["webhook"]),
                       ("onset -> alert frame, regular 1 s frame only", slow["frame"]),
                       ("onset -> webhook, regular 1 s frame only", slow["webhook"]),
                       ("loopback flood onset -> alert frame, fast path", flood_fast),
                       ("loopback flood onset -> alert frame, regular 1 s frame only",
                        flood_slow),
                       ("log line -> log event frame", logs["event"]),
                       ("log line -> alert frame", logs["alert"])):
        print(f"| {name} | {statistics.median(vals) * ms if vals else float('nan'):.0f} ms "
              f"| {pct(vals, 99) * ms:.0f} ms | {len(vals)} |")
    a, b = spend["agent"], spend["bare loop"]
    print(f"\n| process ({args.seconds:.0f} s at 1 s, fast path 10 Hz, processes every 5 s) "
          f"| CPU % of one core | RSS MB |\n|---|---|---|")
    print(f"| monitor-agent | {a[0]:.2f} | {a[1]:.1f} |")
    print(f"| bare psutil loop, same calls (ceiling) | {b[0]:.2f} | {b[1]:.1f} |")
    print(f"| ratio agent / bare loop | {a[0] / b[0] if b[0] else float('nan'):.2f} "
          f"| {a[1] / b[1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
