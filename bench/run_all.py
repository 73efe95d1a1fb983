"""Run every benchmark in turn (``make bench``); each prints its own figures and ratios."""

from __future__ import annotations

import subprocess
import sys
import time

BENCHES = ["bench.bench_agent", "bench.bench_ingest", "bench.bench_memory", "bench.bench_alerts",
           "bench.bench_anomaly", "bench.bench_notify", "bench.bench_tui", "bench.bench_store", "bench.bench_rewind",
           "bench.bench_caps", "bench.bench_cluster", "bench.bench_scale"]


def main() -> int:
    for name in sys.argv[1:] or BENCHES:
        print(f"\n=== python -m {name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", name])
        print(f"=== {name}: exit {code}, {time.monotonic() - started:.0f} s", flush=True)
    return 0  # benchmarks report; they never fail the build


if __name__ == "__main__":
    sys.exit(main())
