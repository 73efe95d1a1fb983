"""What each cap costs in memory: bytes per series (full history), per host, per probation
entry, measured by RSS in fresh subprocesses (``python -m bench.bench_caps``).

The ceiling in the same run is the raw payload: 120 history floats of 8 bytes per series.
The figures feed broker/limits.py (BYTES_PER_SERIES) and docs/internals.md.
"""

from __future__ import annotations

import subprocess
import sys

CHILD = r'''
import gc, os, sys
from collections import OrderedDict
from broker.alerting.engine import AlertEngine
from broker.ingest.state import HISTORY_LEN, State
from broker.store.rollups import Rollups

def rss():
    for line in open(f"/proc/{os.getpid()}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024

what, hosts, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
st = State(max_hosts=10**7, max_series_per_host=10**7)
e, r = AlertEngine(), Rollups()
pool = OrderedDict()
gc.collect()
base = rss()
t = 1_700_000_000.0
if what == "probation":
    for h in range(hosts):
        pool[f"fake-host-{h:08d}"] = (f"agent-{h:08d}", "boot-0001", 0)
else:
    for h in range(hosts):
        hs, _ = st.touch({"host": f"host-{h:06d}", "agent": "a", "boot": "b", "seq": 0, "ts": t})
        for k in range(HISTORY_LEN if per else 0):
            m = {f"metric.{i}.value": float(k + i) for i in range(per)}
            st.apply_metrics(hs, m, None)
            if k < 2:
                e.on_sample(hs.host, m, None, t + k)
                r.add(hs.host, m, t + k)
gc.collect()
print(rss() - base)
'''


def measure(what: str, hosts: int, per: int) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, what, str(hosts), str(per)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main() -> None:
    raw = 120 * 8
    for hosts, per in ((100, 1000), (10_000, 10), (2_000, 50)):
        b = measure("series", hosts, per) / (hosts * per)
        print(f"series: {hosts:>6} hosts x {per:>4} = {hosts * per:>7} series: {b:>6.0f} B "
              f"each with full history ({b / raw:.1f}x the {raw} B of raw floats)")
    b = measure("hosts", 20_000, 0) / 20_000
    print(f"host record without series: {b:.0f} B each")
    b = measure("probation", 100_000, 0) / 100_000
    print(f"probation entry: {b:.0f} B each (10,000 entries: {b * 10_000 / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
