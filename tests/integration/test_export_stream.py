"""`monitor-ctl export` streams any size in pages (it failed past about 195k events)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from broker.events import make_event
from broker.store.store import Store
from tests.procs import ENV, Broker, command

pytestmark = [pytest.mark.integration, pytest.mark.serial]  # a memory ceiling
N = 220_000  # about 70 MB of JSON lines: over the 64 MiB reply cap of one request


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_export_of_220k_events_streams_with_flat_memory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data / "events.db")
    store.open()
    store.start()
    t0 = time.time() - 600
    pad = "x" * 200
    for i in range(N):
        store.put(make_event("log", f"line {i} {pad}", ts=t0 + i / 1000, host="bulk-1",
                             data={"source": "app", "level": "info", "dropped": 0}))
    assert store.flush(120)
    store.stop()
    b = Broker(data)
    try:
        before = rss_mb(b.proc.pid)
        peak = [before]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.05):  # poll
                peak[0] = max(peak[0], rss_mb(b.proc.pid))
        watcher = threading.Thread(target=watch)
        watcher.start()
        out_path = tmp_path / "export.jsonl"
        with open(out_path, "w") as out:
            got = subprocess.run([*command("monitor-ctl"), "--control", b.endpoints["control"],
                                  "--timeout", "30", "--json", "export", "kind:log"],
                                 stdout=out, stderr=subprocess.PIPE, text=True, timeout=120,
                                 env=ENV)
        done.set()
        watcher.join()
        assert got.returncode == 0, got.stderr
        n = 0
        with open(out_path) as f:
            for line in f:
                ev = json.loads(line)  # --json export: one JSON object per line
                assert ev["kind"] == "log"
                n += 1
        assert n == N
        print(f"broker RSS {before:.0f} MB before, peak {peak[0]:.0f} MB exporting {N} events")
        assert peak[0] - before < 60, (before, peak[0])
    finally:
        b.stop()
