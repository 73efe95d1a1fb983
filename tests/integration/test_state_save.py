"""The alert state's save cadence (broker/state_saver.py) against kill -9 and a clean stop.

A real broker process with a threshold rule; samples are pushed with ``monitor-ctl push``
(a push-only host: no host_down). The saved state is read from ``events.db`` itself.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tests.procs import Broker, wait_for

pytestmark = pytest.mark.integration

RULES = '''
[[rule]]
name = "q_high"
kind = "threshold"
metric = "queue.depth"
op = ">"
critical = 90
clear = 5
for = "0s"
'''


def start(tmp_path: Path, every: str) -> Broker:
    rules, cfg = tmp_path / "rules.toml", tmp_path / "broker.toml"
    rules.write_text(RULES)
    cfg.write_text(f'[broker]\nstate_save = "{every}"\n')
    return Broker(tmp_path / "data", "--rules", str(rules), "--config", str(cfg))


def saved_states(data: Path) -> dict[str, str]:
    """host -> state of the q_high alert in the committed ``engine`` record."""
    conn = sqlite3.connect(f"file:{data / 'events.db'}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM state WHERE key = 'engine'").fetchone()
    finally:
        conn.close()
    if row is None:
        return {}
    state: dict[str, Any] = msgpack.unpackb(row[0], raw=False, strict_map_key=False)
    return {a["host"]: a["state"] for a in state["alerts"] if a["rule"] == "q_high"}


def live_states(b: Broker) -> dict[str, str]:
    return {a["host"]: a["state"] for a in b.ctl_json("alerts") if a["rule"] == "q_high"}


def test_kill_9_after_the_save_interval_loses_no_alert_change(tmp_path: Path) -> None:
    data = tmp_path / "data"
    b = start(tmp_path, "1s")
    try:
        b.ctl_json("push", "db-1", "queue.depth=95")
        wait_for(lambda: live_states(b) == {"db-1": "firing"}, 15, "firing")
        fired = time.monotonic()
        # within the interval (1 s) plus the store's batch window (0.1 s), with slack for
        # a loaded machine; the loop turn that fired saved at once (the first change)
        wait_for(lambda: saved_states(data) == {"db-1": "firing"}, 15, "the firing saved")
        b.ctl_json("push", "db-1", "queue.depth=10")  # inside the interval of the first save
        b.ctl_json("push", "db-2", "queue.depth=99")
        wait_for(lambda: live_states(b) == {"db-1": "resolved", "db-2": "firing"}, 15,
                 "resolved and a second firing")
        wait_for(lambda: saved_states(data) == {"db-1": "resolved", "db-2": "firing"}, 15,
                 "the deferred save")
        print(f"changes saved {time.monotonic() - fired:.2f} s after the first firing")
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait(10)
    finally:
        b.stop()
    b2 = start(tmp_path, "1s")
    try:
        assert live_states(b2) == {"db-1": "resolved", "db-2": "firing"}
    finally:
        b2.stop()


def has_hosts_record(data: Path) -> bool:
    conn = sqlite3.connect(f"file:{data / 'events.db'}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT 1 FROM state WHERE key = 'engine.hosts'").fetchone()
    finally:
        conn.close()
    return row is not None


def test_a_clean_stop_saves_what_the_interval_held_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    b = start(tmp_path, "1h")
    try:
        # The first tick saves the whole state (the hosts' part is due at once), which
        # starts the interval; a change made before it is saved with it. Pushed after it,
        # both changes wait for the interval. (Pushed before it, as this test did, whether
        # the tick came between the second push and the check was a race: it failed twice
        # in a loaded full suite.)
        wait_for(lambda: has_hosts_record(data), 15, "the first tick's save")
        assert saved_states(data) == {}
        b.ctl_json("push", "db-1", "queue.depth=95")
        b.ctl_json("push", "db-2", "queue.depth=95")
        wait_for(lambda: live_states(b) == {"db-1": "firing", "db-2": "firing"}, 15, "firing")
        assert saved_states(data) == {}  # both wait for the interval (1 h)
    finally:
        b.stop()  # SIGTERM: a clean stop
    assert saved_states(data) == {"db-1": "firing", "db-2": "firing"}
    b2 = start(tmp_path, "1h")
    try:
        assert live_states(b2) == {"db-1": "firing", "db-2": "firing"}
    finally:
        b2.stop()
