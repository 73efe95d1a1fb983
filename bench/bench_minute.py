"""The store's minute close at fleet size: time to write a closing minute's rollups, and
the memory it leaves, for writer page cache sizes.

    python -m bench.bench_minute [--hosts 10000] [--minutes 6] [--cache-kib 16384 8192 4096]

For each cache size, a fresh process (so RSS is its own) opens a new store database the way
the broker's writer does (broker/store/store.py's pragmas, the cache size under test), fills
``--minutes`` minute buckets of ``--hosts`` hosts x 21 series (the simulator's names) through
``Rollups`` and writes each closing minute as the writer does (``take_closed_buckets``, then
``Rollups.persist`` in one transaction); it reports the time of each minute's write and the
process's RSS after each. The first minute also makes the hour buckets. Prints; never
asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def one(hosts: int, minutes: int, cache_kib: int, path: Path) -> dict[str, list[float]]:
    import sqlite3

    from broker.store.rollups import Rollups
    from broker.store.schema import migrate

    names = ["cpu.percent", "cpu.user", "cpu.system", "cpu.iowait", "cpu.count",
             "mem.percent", "mem.used", "mem.total", "swap.percent", "disk./.percent",
             "disk./var.percent", "net.eth0.rx_bps", "net.eth0.tx_bps", "net.eth0.errin_ps",
             "diskio.sda.read_bps", "diskio.sda.write_bps", "load.1", "load.5", "load.15",
             "proc.count", "uptime"]
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA page_size=16384")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA cache_size=-{cache_kib}")
    migrate(conn)
    r = Rollups()
    proc = psutil.Process()
    t0 = 1_700_000_000 // 3600 * 3600.0  # an hour boundary
    out: dict[str, list[float]] = {"write_ms": [], "rss_mb": []}
    for minute in range(minutes):
        for s in range(0, 60, 6):  # ten frames a host a minute: the buckets are the same
            ts = t0 + minute * 60 + s
            for h in range(hosts):
                r.add(f"host-{h:05d}", {n: float(h + i + s) for i, n in enumerate(names)}, ts)
            r.fold_inbox()
        start = time.perf_counter()
        closed = r.take_closed_buckets(t0 + (minute + 1) * 60 + r.grace)
        conn.execute("BEGIN IMMEDIATE")
        Rollups.persist(conn, closed.rows())
        conn.execute("COMMIT")
        out["write_ms"].append(round((time.perf_counter() - start) * 1000, 1))
        del closed
        out["rss_mb"].append(round(proc.memory_info().rss / 2**20, 1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--minutes", type=int, default=6)
    ap.add_argument("--cache-kib", type=int, nargs="+", default=[16384, 8192, 4096])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: this cache size
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hosts < 1 or args.minutes < 1 or min(args.cache_kib) < 1:
        ap.error("--hosts, --minutes and --cache-kib must be at least 1")
    if args.one is not None:
        print(json.dumps(one(args.hosts, args.minutes, args.one, args.db)))
        return
    print(f"{args.hosts:,} hosts x 21 series, {args.minutes} minutes closed and written")
    for kib in args.cache_kib:
        with tempfile.TemporaryDirectory() as tmp:
            res = subprocess.run(
                [sys.executable, "-m", "bench.bench_minute", "--hosts", str(args.hosts),
                 "--minutes", str(args.minutes), "--one", str(kib), "--db",
                 str(Path(tmp) / "events.db")], capture_output=True, text=True, check=False)
        if res.returncode:
            print(f"cache {kib} KiB: failed: {res.stderr.strip()[-500:]}")
            continue
        r = json.loads(res.stdout)
        print(f"cache {kib:>6} KiB: minute write ms {r['write_ms']}; RSS MB after each "
              f"{r['rss_mb']}", flush=True)


if __name__ == "__main__":
    main()
