"""Event store insert rate and search latency at size, against ceilings from the same run.

    python -m bench.bench_store [--events 1000000] [--queries 200]

Builds the store in a temp dir from a realistic mix (75 % captured log lines over 500 hosts
with a Zipf-like vocabulary, alerts, notifications, host changes). Figures printed:

- ceiling: raw ``executemany`` of the same pre-built rows into a plain table (no indexes,
  no FTS): what SQLite itself does on this machine; then the same raw SQL into the real
  schema (indexes + FTS5), and the multi-row ``VALUES`` statements the Store's writer uses,
  to separate the schema's cost from the Store's Python layer;
- Store: events/s through ``put()`` (one producer thread) until ``flush()`` returns, per
  tenth of the run (sustained, as the file grows) and overall; synchronous=FULL vs NORMAL
  on a shorter run; then, on top of the 1M store, a paced offered load of 25k and 50k
  events/s (does the writer keep up, and how large does the backlog grow);
- search p50/p99 through ``Store.search`` for word and filtered queries, with the raw SQL
  of the same query as the ceiling and a ``LIKE`` scan to show what FTS5 saves.

Targets (issue 4): >= 50,000 events/s sustained; search p99 <= 50 ms at 1M. Never asserts.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from broker.store.schema import insert_rows, migrate
from broker.store.search import compile_query
from broker.store.search_plan import run_compiled
from broker.store.store import Store, _row

T0 = 1_700_000_000.0
KINDS = ["log"] * 75 + ["alert"] * 8 + ["notify.sent"] * 5 + ["notify.failed"] * 2 + \
    ["host.up"] * 4 + ["host.down"] * 4 + ["ingest.rejected"] * 2
SEVERITY = {"log": (["info"] * 8 + ["warning"] * 3 + ["critical"]),
            "alert": ["warning", "critical"], "notify.failed": ["warning"],
            "host.down": ["warning"], "ingest.rejected": ["warning"]}


def vocabulary(rng: random.Random, n: int = 3000) -> list[str]:
    base = ("error warning timeout connection refused disk full cpu memory swap kernel oom "
            "killed nginx upstream postgres replication lag checkpoint ssh login failed "
            "accepted session opened closed cron job started finished backup").split()
    letters = "abcdefghijklmnopqrstuvwxyz"
    return base + ["".join(rng.choices(letters, k=rng.randint(4, 9))) for _ in range(n)]


def make_events(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    words = vocabulary(rng)
    cum, acc = [], 0.0
    for i in range(len(words)):  # Zipf: a few words are everywhere, most are rare
        acc += 1.0 / (i + 1)
        cum.append(acc)
    out = []
    for i in range(n):
        kind = rng.choice(KINDS)
        host = f"web-{rng.randrange(500)}"
        rule = alert = ""
        if kind.startswith(("alert", "notify")):
            rule = rng.choice(["high_cpu_usage", "disk_full", "mem_pressure", "host_down"])
            alert = f"{hash((rule, host)) & 0xFFFFFFFF:08x}"
        msg = " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(5, 14)))
        data: dict[str, Any] = {"source": "/var/log/syslog", "line": i}
        if kind == "alert":  # a transition, as the engine emits it: episodes do real work
            to = rng.choice(["firing", "firing", "resolved", "pending"])
            data = {"from": "pending", "to": to, "value": rng.uniform(50, 100),
                    "threshold": 90.0, "alert": {"id": alert, "rule": rule, "host": host}}
        out.append({"id": uuid.uuid4().hex, "ts": T0 + i * 0.002, "kind": kind, "host": host,
                    "severity": rng.choice(SEVERITY.get(kind, ["info"])), "rule": rule,
                    "alert_id": alert, "message": f"{msg} pid={rng.randrange(1, 65536)}",
                    "data": data})
    return out


def _raw(path: Path, rows: list[tuple[Any, ...]], schema: bool, batch: int = 20_000,
         multi: bool = False) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size=16384")  # as Store uses
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    if schema:
        migrate(conn)
    else:
        conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, id, ts, kind, host, "
                     "severity, rule, alert_id, message, data)")
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN")
        first = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        head = "INSERT INTO events(id, ts, kind, host, severity, rule, alert_id, message, data)"
        if multi:  # what the Store's writer does: up to 2,000 rows per statement
            insert_rows(conn, head, rows[i:i + batch], 9)
        else:
            conn.executemany(head + " VALUES (?,?,?,?,?,?,?,?,?)", rows[i:i + batch])
        if schema:
            conn.execute("INSERT INTO events_fts(rowid, message, host, kind, rule, alert_id) "
                         "SELECT seq, message, host, kind, rule, alert_id FROM events "
                         "WHERE seq > ?", (first,))
        conn.execute("COMMIT")
    dt = time.perf_counter() - t
    conn.close()
    return len(rows) / dt


def store_insert(path: Path, events: list[dict[str, Any]], synchronous: str = "FULL",
                 marks: int = 10) -> tuple[Store, float, list[float]]:
    """events/s from the first put() to flush(); and the commit rate per tenth of the run."""
    commits: list[tuple[float, int]] = []
    store = Store(path, synchronous=synchronous, retention_s=10**10, max_bytes=2**40,
                  on_commit=lambda evs: commits.append((time.perf_counter(), len(evs)))).open()
    store.start()
    t0 = time.perf_counter()
    for ev in events:
        store.put(ev)
    store.flush(600)
    total = len(events) / (time.perf_counter() - t0)
    rates, done, last_t, step = [], 0, t0, max(1, len(events) // marks)
    goal = step
    for t, n in commits:
        done += n
        if done >= goal:
            rates.append(step * (done // step - (goal // step - 1)) / (t - last_t))
            last_t, goal = t, (done // step + 1) * step
    return store, total, rates


def offered_load(store: Store, events: list[dict[str, Any]], rate: int) -> tuple[float, int]:
    """Put ``events`` paced at ``rate``/s (100 slices a second); the commit rate achieved
    and the largest backlog seen. Keeping up means achieved ~= offered, backlog small."""
    step = max(1, rate // 100)
    t0 = time.perf_counter()
    backlog = 0
    for i in range(0, len(events), step):
        for ev in events[i:i + step]:
            store.put(ev)
        backlog = max(backlog, store.stats()["pending"])
        threading.Event().wait(max(0.0, t0 + (i + step) / rate - time.perf_counter()))
    store.flush(600)
    return len(events) / (time.perf_counter() - t0), backlog


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


def timed(fn: Any, args: list[Any]) -> list[float]:
    out = []
    for a in args:
        t = time.perf_counter()
        fn(a)
        out.append(time.perf_counter() - t)
    return out


def search_figures(store: Store, path: Path, events: list[dict[str, Any]], nq: int,
                   rng: random.Random) -> None:
    now = events[-1]["ts"] + 1
    words = vocabulary(random.Random(1))
    hosts = [f"web-{i}" for i in range(500)]
    cases = {
        "word (common)": lambda: rng.choice(words[:20]),
        "word (rare)": lambda: rng.choice(words[500:3000]),
        "two words": lambda: f"{rng.choice(words[:200])} {rng.choice(words[:200])}",
        "phrase": lambda: f'"{rng.choice(words[:30])} {rng.choice(words[:30])}"',
        "host:X": lambda: f"host:{rng.choice(hosts)}",
        "host:X severity:>=warning": lambda: f"host:{rng.choice(hosts)} severity:>=warning",
        "kind:alert rule:R since:1h": lambda: "kind:alert rule:disk_full since:1h",
        "host:web-1* kind:notify": lambda: "host:web-1* kind:notify",
        "word + host:X": lambda: f"{rng.choice(words[:50])} host:{rng.choice(hosts)}",
        "severity:critical -word": lambda: f"severity:critical -{rng.choice(words[:5])}",
    }
    conn = sqlite3.connect(path)
    print(f"\nsearch, {nq} queries each, limit 50, newest first "
          "(ms; raw = the same planned SQL, without parsing or building dicts):")
    print(f"  {'query':30} {'p50':>7} {'p99':>7} {'max':>7} {'raw p50':>8} {'raw p99':>8}")
    for name, gen in cases.items():
        queries = [gen() for _ in range(nq)]
        lat = timed(lambda q: store.search(q, now=now), queries)

        compiled = [compile_query(q, now) for q in queries]
        ceil = timed(lambda c: run_compiled(conn, c, limit=50), compiled)
        print(f"  {name:30} {pct(lat, 50):7.2f} {pct(lat, 99):7.2f} {max(lat) * 1000:7.2f} "
              f"{pct(ceil, 50):8.2f} {pct(ceil, 99):8.2f}")
    rare = [rng.choice(words[500:3000]) for _ in range(5)]
    like = timed(lambda w: conn.execute(
        "SELECT * FROM events WHERE message LIKE ? ORDER BY seq DESC LIMIT 50",
        (f"%{w}%",)).fetchall(), rare)
    print(f"  without FTS5 (LIKE scan, rare word): p50 {pct(like, 50):.1f} ms")
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    n = args.events
    rng = random.Random(7)
    t = time.perf_counter()
    events = make_events(n)
    rows = [_row(e) for e in events]
    print(f"event store benchmark: {n:,} events (generated in {time.perf_counter() - t:.1f} s)")
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        d = Path(tmp)
        ceiling = _raw(d / "plain.db", rows, schema=False)
        schema = _raw(d / "schema.db", rows, schema=True)
        multi = _raw(d / "multi.db", rows, schema=True, multi=True)
        for f in ("plain", "schema", "multi"):
            (d / f"{f}.db").unlink()
        print(f"ceiling, raw executemany, plain table:   {ceiling:>9,.0f} rows/s")
        print(f"raw executemany, real schema (idx+FTS5):  {schema:>9,.0f} rows/s "
              f"({schema / ceiling:.2f} of ceiling)")
        print(f"raw multi-row VALUES, real schema:        {multi:>9,.0f} rows/s "
              f"({multi / ceiling:.2f} of ceiling)")
        small = events[: min(n, 200_000)]
        best = {"FULL": 0.0, "NORMAL": 0.0}
        for i, mode in enumerate(("FULL", "NORMAL") * 2):  # alternated: the machine is shared
            s, rate, _ = store_insert(d / f"sync-{i}.db", small, mode)
            s.stop()
            (d / f"sync-{i}.db").unlink()
            best[mode] = max(best[mode], rate)
        for mode, rate in best.items():
            print(f"Store, synchronous={mode:6} ({len(small):,} events, best of 2): "
                  f"{rate:>9,.0f} events/s")
        store, rate, rates = store_insert(d / "events.db", events)
        stats = store.stats()
        print(f"Store.put -> flush, {n:,} events (FULL): {rate:>9,.0f} events/s "
              f"({rate / ceiling:.2f} of ceiling, {rate / schema:.2f} of raw schema)")
        print("  sustained, per tenth: " + " ".join(f"{r / 1000:.0f}k" for r in rates)
              + f"  (min {min(rates):,.0f}/s)")
        print(f"  file {stats['file_bytes'] / 2**20:.0f} MiB ({stats['bytes'] / n:.0f} B/event), "
              f"last batch {stats['last_batch_ms']} ms, batches {stats['batches']}")
        extra = make_events(min(n // 4, 250_000), seed=2)
        for offered, part in ((25_000, extra[: len(extra) * 2 // 5]),
                              (50_000, extra[len(extra) * 2 // 5:])):
            got, backlog = offered_load(store, part, offered)
            print(f"  offered {offered:,}/s on top ({len(part):,} events): committed "
                  f"{got:,.0f}/s, largest backlog {backlog:,} events")
        search_figures(store, d / "events.db", events, args.queries, rng)
        t = time.perf_counter()
        store.stop()
        print(f"\nstop (final commit, close): {(time.perf_counter() - t) * 1000:.0f} ms; "
              f"median tenth of the 1M insert: {statistics.median(rates):,.0f} events/s")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
