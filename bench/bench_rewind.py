"""Rewind: control ``fleet_at`` at 1,000 hosts, against ceilings from the same run.

    python -m bench.bench_rewind [--hosts 1000] [--hours 2] [--moments 40] [--store PATH]

``--store PATH`` keeps the store built there, and a later run reopens it (timing the open:
a schema migration of an older file runs there), so two versions of the code are compared
on the very same file: copy it for each, an open migrates it.

Builds a real store through its own API (``Store.record_metrics`` under a fake clock, one
sample a minute per host of 21 metrics; ``Store.put`` of alert events that open and close
episodes), then times the broker's own ``fleet_at`` handler (``broker/api/rewind_ops.py``:
argument checks, the rollups at the moment, histories of the 30 hosts a console shows,
alerts from the episodes and events, the 100 events before the moment) at random moments.
Ceiling, same store and moments: the one SQL statement that reads every host's metrics at
the moment (what the handler cannot go below); and, for scale, what the obvious query costs
(every series' newest bucket in the 5 minutes up to the moment, one GROUP BY: the first
version of the handler).

Target (issue 16, part 4): fleet_at within ~200 ms at 1,000 hosts. Never asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from broker.api.control import Control
from broker.events import make_event
from broker.store.store import Store
from core.clock import FakeClock

T0 = 1_700_000_000.0
METRICS = ["cpu.percent", "mem.percent", "swap.percent", "disk./.percent",
           "disk./var.percent", "net.eth0.rx_bps", "net.eth0.tx_bps", "load.1", "load.5",
           "load.15", "cpu.count", "proc.count", "uptime", "mem.used", "mem.available",
           "disk./.used", "disk./var.used", "net.eth0.rx_errs", "net.eth0.tx_errs",
           "cpu.iowait", "cpu.steal"]


class Handlers(Control):
    """The broker's control handlers over a store, without a core loop (as the frozen
    source does): ``fleet_at`` runs exactly as on the query thread."""

    def __init__(self, store: Store, clock: FakeClock, hosts: list[str]) -> None:
        known = {h: SimpleNamespace(info={"os": "Linux"}, labels={}) for h in hosts}
        self.core = cast(Any, SimpleNamespace(clock=clock, pseq=0, nseq=0,
                                              state=SimpleNamespace(hosts=known)))
        self.system = SimpleNamespace(store=store, notifier=None)


def build(path: Path, hosts: list[str], minutes: int, rng: random.Random) -> Store:
    clock = FakeClock(T0 - minutes * 60)
    store = Store(path, clock=clock, synchronous="NORMAL").open()
    store.start()
    for m in range(minutes, 0, -1):
        ts = T0 - m * 60
        clock.advance(ts - clock.time())
        for i, host in enumerate(hosts):
            store.record_metrics(host, {name: rng.random() * 100 for name in METRICS}, ts)
            if i % 20 == 0 and m % 30 in (i % 30, (i + 10) % 30):  # 50 hosts alert,
                to = "firing" if m % 30 == i % 30 else "resolved"  # 10 min in every 30
                store.put(make_event("alert", f"cpu on {host}: {to}", ts=ts, host=host,
                                     severity="warning", rule="cpu_busy",
                                     alert_id=f"a{i:04d}", data={
                                         "from": "", "to": to, "value": 85.0,
                                         "threshold": 80.0}))
        if m % 10 == 0:
            store.flush(60)
    clock.advance(T0 - clock.time())
    store.flush(120)
    return store


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--moments", type=int, default=40)
    ap.add_argument("--store", type=Path, default=None,
                    help="build the store here and keep it; reopen it when it exists")
    args = ap.parse_args()
    rng = random.Random(16)
    hosts = [f"node-{i:04d}" for i in range(args.hosts)]
    minutes = int(args.hours * 60)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-rewind-") as tmp:
        t = time.perf_counter()
        path = args.store or Path(tmp) / "events.db"
        if path.exists():
            store = Store(path, clock=FakeClock(T0), synchronous="NORMAL").open()
            store.start()
            how = "opened (with any migration) in"
        else:
            store = build(path, hosts, minutes, rng)
            how = "built in"
        rows = store._read(lambda c: c.execute("SELECT count(*) FROM rollups").fetchone()[0])
        version, index = store._read(lambda c: (
            c.execute("PRAGMA user_version").fetchone()[0],
            c.execute("SELECT name FROM sqlite_master WHERE name IN ('rollups_at', "
                      "'rollups_age') ORDER BY name DESC").fetchone()[0]))
        print(f"rewind benchmark: {args.hosts:,} hosts x {len(METRICS)} metrics, "
              f"{minutes} min of 1 min rollups ({rows:,} rows, schema v{version}, {index}), "
              f"{how} {time.perf_counter() - t:.1f} s; load average {load:.1f}")
        clock = cast(FakeClock, store.clock)
        handlers = Handlers(store, clock, hosts)
        moments = [T0 - rng.uniform(60, minutes * 60 - 600) for _ in range(args.moments)]
        detail = hosts[:30]
        full, ceiling, naive = [], [], []
        for when in moments:
            start = time.perf_counter()
            reply = handlers.fleet_at({"ts": when, "detail": detail, "brief_above": 100})
            full.append((time.perf_counter() - start) * 1000)
            bucket = int(when // 60) * 60
            start = time.perf_counter()
            store._read(lambda c, b=bucket: c.execute(
                "SELECT host, json_group_object(metric, sum / count) FROM rollups INDEXED BY "
                f"{index} WHERE step = 60 AND ts = ? GROUP BY host", (b,)).fetchall())
            ceiling.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            store._read(lambda c, b=bucket: c.execute(
                "SELECT host, metric, max(ts), sum, count FROM rollups WHERE step = 60 AND "
                "ts >= ? AND ts <= ? GROUP BY host, metric", (b - 300, b)).fetchall())
            naive.append((time.perf_counter() - start) * 1000)
        up = sum(1 for h in reply["hosts"] if h["status"] == "up")
        print(f"  last reply: {len(reply['hosts'])} hosts ({up} up), "
              f"{len(reply['alerts'])} alerts, {len(reply['events'])} events, "
              f"{sum(len(h['history']) for h in reply['hosts'])} histories")
        print(f"fleet_at (the handler, {args.moments} moments):   p50 "
              f"{statistics.median(full):6.1f} ms  p99 {pct(full, 99):6.1f} ms  "
              f"max {max(full):6.1f} ms")
        print(f"ceiling, the one metrics SQL statement: p50 {statistics.median(ceiling):6.1f} ms"
              f"  p99 {pct(ceiling, 99):6.1f} ms  (fleet_at is "
              f"{statistics.median(full) / statistics.median(ceiling):.1f}x it)")
        print(f"the first version's one GROUP BY:       p50 {statistics.median(naive):6.1f} ms"
              f"  p99 {pct(naive, 99):6.1f} ms  ({statistics.median(naive) / statistics.median(full):.1f}x"
              " the whole handler now)")
        print(f"target 200 ms at 1,000 hosts: p99 is {pct(full, 99) / 200:.2f} of it "
              f"(load average {os.getloadavg()[0]:.1f} at the end)")
        store.stop()


if __name__ == "__main__":
    main()
