"""Where a live broker's memory goes, over minute closes: an in-process ``MonitoringSystem``
(default rules, the store on) fed by bench/fleet_driver.py processes, under tracemalloc.

    python -m bench.heap_live [--hosts 5000] [--seconds 150] [--every 10] [--top 12]

Every ``--every`` seconds: RSS, the bytes tracemalloc sees, and the lines that grew most
since the last snapshot; at the end, the biggest holders by line. The trim of
``monitor-broker`` (broker/memtrim.py) runs here too, as in the real process. tracemalloc
slows the broker (at 10,000 hosts it falls behind on this machine): use fewer hosts and
scale. A tool for finding holders; prints, never asserts.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import psutil

from bench.bench_scale import Drivers
from broker.memtrim import trim


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def malloc_info() -> str:
    """glibc's heap: bytes in use, free but held (what a trim can give back), mmapped."""
    try:
        fn = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return "mallinfo2: n/a"
    fn.restype = MallInfo2
    m = fn()
    return (f"malloc: in use {m.uordblks / 2**20:.0f} MB, free held {m.fordblks / 2**20:.0f} "
            f"MB, mmapped {m.hblkhd / 2**20:.0f} MB")


def sqlite_used() -> str:
    """SQLite's own heap (page caches, statements) in this process, now and at its peak."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")  # the library the sqlite3 module uses
    except OSError:
        return "sqlite: n/a"
    lib.sqlite3_memory_used.restype = lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    return (f"sqlite {lib.sqlite3_memory_used() / 2**20:.0f} MB "
            f"(peak {lib.sqlite3_memory_highwater(0) / 2**20:.0f})")


def top(snap: tracemalloc.Snapshot, prev: tracemalloc.Snapshot | None, n: int) -> list[str]:
    if prev is None:
        stats = snap.statistics("lineno")[:n]
        return [f"  {s.size / 2**20:7.1f} MB {s.count:>9,} {s.traceback[0]}" for s in stats]
    diff = snap.compare_to(prev, "lineno")[:n]
    return [f"  {d.size_diff / 2**20:+7.1f} MB (now {d.size / 2**20:6.1f}) {d.traceback[0]}"
            for d in diff]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=150.0)
    ap.add_argument("--every", type=float, default=10.0)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--no-trace", action="store_true", help="RSS only (no tracemalloc)")
    args = ap.parse_args()
    from broker.system import MonitoringSystem

    proc = psutil.Process()
    if not args.no_trace:
        tracemalloc.start(1)
    with tempfile.TemporaryDirectory() as tmp:
        ms = MonitoringSystem(Path(tmp) / "d").start()
        fleet = Drivers(args.hosts, [ms.endpoints["ingest"]], max(1, args.hosts // 5000))
        prev = None
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < args.seconds:
                time.sleep(args.every)  # a sampling period (a tool, not a test)
                trim()
                assert ms.core is not None
                traced = tracemalloc.get_traced_memory()[0] if not args.no_trace else 0
                print(f"t={time.monotonic() - t0:5.0f}s wall={time.strftime('%H:%M:%S')} "
                      f"rss={proc.memory_info().rss / 2**20:.0f} MB traced="
                      f"{traced / 2**20:.0f} MB hosts={len(ms.core.state.hosts)}", flush=True)
                assert ms.store is not None
                w = ms.store._writer
                assert w is not None
                print(f"  {malloc_info()}; {sqlite_used()}; blocks {sys.getallocatedblocks():,}; writer last "
                      f"batch {w.counters['last_batch_ms']} ms; frames "
                      f"{ms.core.frames:,}", flush=True)
                if args.no_trace:
                    continue
                snap = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(False, tracemalloc.__file__)])
                print("\n".join(top(snap, prev, args.top)), flush=True)
                prev = snap
            if prev is not None:
                print("biggest holders:")
                print("\n".join(top(prev, None, args.top * 2)))
        finally:
            fleet.stop()
            ms.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
