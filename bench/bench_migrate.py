"""Schema v3's index build: start-up with it put off, and ``--migrate-store``'s rate.

    python -m bench.bench_migrate [--hosts 1000] [--minutes 1440]

Builds a real schema-v2 file (``--hosts`` x 21 metrics x ``--minutes`` minute rollups with
realistic names, 16 KiB pages, WAL) off the store's code, copies it twice, and times:
- ``Store.open`` with the default threshold (put off when estimated over 5 s) and with no
  threshold (the migration at open, what start-up cost before);
- ``broker.store.upgrade.migrate_offline`` (the ``--migrate-store`` path);
against a ceiling from the same run: one full scan of the rollups (``SELECT sum(count)``),
which no index build can beat. Prints rows/s, MB/s, the estimate's error and the ratios.
Never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from broker.store.schema import APPLICATION_ID, MIGRATIONS
from broker.store.store import Store
from broker.store.upgrade import estimate_s, migrate_offline

METRICS = ["cpu.percent", "mem.percent", "swap.percent", "disk./.percent", "load.1",
           "load.5", "load.15", "net.eth0.rx_bytes", "net.eth0.tx_bytes", "disk.sda.read",
           "disk.sda.write", "procs.running", "procs.total", "cpu.user", "cpu.system",
           "cpu.iowait", "mem.available", "mem.cached", "temp.cpu", "fs./var.percent",
           "net.eth0.errors"]


def build_v2(path: Path, hosts: int, minutes: int) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size=16384")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    for version, script in MIGRATIONS[:2]:
        for stmt in script.split(";"):
            if stmt.strip():
                conn.execute(stmt)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TEMP TABLE m(name TEXT)")
    conn.executemany("INSERT INTO m VALUES (?)", [(m,) for m in METRICS])
    t0 = int(time.time() // 60 * 60) - minutes * 60
    conn.execute("BEGIN")
    conn.execute(
        "WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < ? - 1), "
        "t(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM t WHERE j < ? - 1) "
        "INSERT INTO rollups SELECT 60, printf('web-%04d.dc1.example.com', i), m.name, "
        "? + j * 60, i % 97, i % 89 + 5, (i % 97) * 2.5, 2 FROM t, h, m",
        (hosts, minutes, t0))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return hosts * minutes * len(METRICS)


def timed_open(path: Path, max_s: float | None) -> tuple[float, int]:
    t = time.perf_counter()
    store = Store(path, migrate_max_s=max_s).open()
    dt = time.perf_counter() - t
    schema = store.schema
    store.stop()
    return dt, schema


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--minutes", type=int, default=1440)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as tmp:
        src = Path(tmp) / "v2.db"
        rows = build_v2(src, args.hosts, args.minutes)
        conn = sqlite3.connect(src)
        est, used = estimate_s(conn)
        t = time.perf_counter()
        conn.execute("SELECT sum(count) FROM rollups").fetchone()
        scan = time.perf_counter() - t
        conn.close()
        print(f"v2 file: {rows:,} rollup rows, {used / 1e6:,.0f} MB used; load "
              f"{os.getloadavg()[0]:.1f}")
        print(f"ceiling, one full scan of the rollups:  {scan:6.2f} s "
              f"({rows / scan:,.0f} rows/s)")
        copies = []
        for name in ("a", "b", "c"):
            d = Path(tmp) / name
            d.mkdir()
            shutil.copy(src, d / "events.db")
            copies.append(d / "events.db")
        src.unlink()
        conn = sqlite3.connect(copies[0])
        t = time.perf_counter()
        conn.execute("PRAGMA quick_check").fetchall()
        qc = time.perf_counter() - t
        conn.close()
        print(f"PRAGMA quick_check (every open):       {qc:6.2f} s")
        dt, schema = timed_open(copies[0], None)
        print(f"Store.open, default threshold:         {dt:6.2f} s (schema v{schema}; "
              f"estimated build {est:,.1f} s)")
        dt, schema = timed_open(copies[1], 1e12)
        print(f"Store.open, migrating (before):        {dt:6.2f} s (schema v{schema}; "
              f"{rows / dt:,.0f} rows/s, {used / dt / 1e6:.1f} MB/s; scan/build "
              f"{scan / dt:.2f}; estimate/actual {est / dt:.2f})")
        t = time.perf_counter()
        migrate_offline(copies[2], lambda line: None)
        dt = time.perf_counter() - t
        print(f"--migrate-store (migrate_offline):     {dt:6.2f} s ({rows / dt:,.0f} rows/s, "
              f"{used / dt / 1e6:.1f} MB/s; scan/build {scan / dt:.2f}; estimate/actual "
              f"{est / dt:.2f})")


if __name__ == "__main__":
    main()
