"""Kill the broker (-9 or SIGTERM) mid-stream with firing, acked and silenced alerts, restart.

20 simulated hosts stream into a real broker; a real HTTP receiver records every page with
its Idempotency-Key. After the restart every host is back within 3 s, no alert state is
lost (firing stays firing, acks and silences stay), every event committed before the kill
is still there, and each alert episode got exactly one key for FIRING and one for RESOLVED.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.fleet import Fleet
from tests.notify_servers import Recorder
from tests.procs import Broker, wait_for

pytestmark = pytest.mark.integration

RULES = '''
[[rule]]
name = "cpu_high"
kind = "threshold"
metric = "cpu.percent"
op = ">"
critical = 90
clear = 5
for = "0s"

[[rule]]
name = "host_down"
kind = "host_down"
for = "2s"
severity = "critical"
'''


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "broker.toml"
    path.write_text(f'''
[[receiver]]
name = "hook"
type = "webhook"
url = "{url}"

[[route]]
receiver = "hook"
group_wait = "0s"
group_interval = "1s"
''')
    return path


def pages(rec: Recorder) -> dict[tuple[str, str, str], set[str]]:
    """(alertname, host, status) -> the distinct Idempotency-Keys that carried it."""
    out: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in rec.ok():
        for a in json.loads(r["body"])["alerts"]:
            out[(a["labels"]["alertname"], a["labels"]["host"], a["status"])].add(
                r["headers"].get("idempotency-key", ""))
    return out


def alert(b: Broker, rule: str, host: str) -> dict[str, Any] | None:
    return next((a for a in b.ctl_json("alerts") if a["rule"] == rule and a["host"] == host),
                None)


def committed_ids(data: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{data / 'events.db'}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM events")}
    finally:
        conn.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_restart_keeps_alert_state_and_pages_once(tmp_path: Path, sig: int) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    hook = Recorder()
    data = tmp_path / "data"
    args = ("--rules", str(rules), "--config", str(config(tmp_path, hook.url)))
    b = Broker(data, *args)
    fleet = Fleet(b.endpoints["ingest"])
    b2: Broker | None = None
    try:
        wait_for(lambda: b.ctl_json("status")["hosts"] == 20, 10, "20 hosts")
        sid = b.ctl_json("silence", "host=h03", "--for", "1h")["id"]
        for h in ("h01", "h02", "h03"):
            fleet.cpu[h] = 99.0
        fleet.quiet.add("h04")
        wait_for(lambda: ("cpu_high", "h01", "firing") in pages(hook)
                 and ("cpu_high", "h02", "firing") in pages(hook)
                 and ("host_down", "h04", "firing") in pages(hook), 10, "three pages")
        b.ctl_json("ack", alert(b, "cpu_high", "h02")["id"])  # type: ignore[index]
        b.ctl_json("ack", alert(b, "host_down", "h04")["id"])  # type: ignore[index]
        assert alert(b, "cpu_high", "h03")["silenced"] == [sid]  # type: ignore[index]
        before = committed_ids(data)
        b.proc.send_signal(sig)
        b.proc.wait(10)
        b.stop()
        t0 = time.monotonic()
        b2 = Broker(data, *args, "--ingest", b.endpoints["ingest"])
        wait_for(lambda: b2.ctl_json("status")["hosts_up"] >= 19, 3, "every host back")
        print(f"hosts back {time.monotonic() - t0:.2f} s after the restart began")
        assert before <= committed_ids(data), "an event committed before the kill is gone"
        a1, a2, a3 = (alert(b2, "cpu_high", h) for h in ("h01", "h02", "h03"))
        a4 = alert(b2, "host_down", "h04")
        assert a1 and a1["state"] == "firing" and not a1["acked"]
        assert a2 and a2["state"] == "firing" and a2["acked"]
        assert a3 and a3["state"] == "firing" and a3["silenced"] == [sid]
        assert a4 and a4["state"] == "firing" and a4["acked"], a4
        for h in ("h01", "h02", "h03"):
            fleet.cpu[h] = 1.0
        fleet.quiet.discard("h04")
        want = [("cpu_high", "h01"), ("cpu_high", "h02"), ("host_down", "h04")]
        wait_for(lambda: all((r, h, "resolved") in pages(hook) for r, h in want), 15,
                 f"RESOLVED pages (got {sorted(pages(hook))})")
        got = pages(hook)
        for r, h in want:
            assert len(got[(r, h, "firing")]) == 1, (r, h, got[(r, h, "firing")])
            assert len(got[(r, h, "resolved")]) == 1, (r, h, got[(r, h, "resolved")])
        assert ("cpu_high", "h03", "firing") not in got  # silenced throughout
        assert all(k for keys in got.values() for k in keys), "a page without a key"
    finally:
        fleet.close()
        b.stop()
        if b2 is not None:
            b2.stop()
        hook.close()
