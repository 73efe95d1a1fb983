"""The broker and its event log across restarts: corrupt logs refused, state restored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.procs import ENV, Broker, command

pytestmark = pytest.mark.integration


def test_corrupt_event_log_refuses_start_with_one_clear_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "events.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    out = subprocess.run([*command("monitor-broker"), "--data-dir", str(data), "--port", "1"],
                         capture_output=True, text=True, timeout=30, env=ENV)
    assert out.returncode == 1
    assert "events.db" in out.stderr and "corrupt" in out.stderr.lower()
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_acks_silences_and_events_survive_a_broker_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    broker = Broker(data)
    try:
        alert_id = broker.ctl_json("simulate", "disk_full", "--host", "db-1")["alert_ids"][0]
        assert broker.ctl("ack", alert_id, "--comment", "rotating logs").returncode == 0
        silence = broker.ctl_json("silence", "host=web-*", "--for", "2h")
    finally:
        broker.stop()
    broker = Broker(data)
    try:
        [alert] = [a for a in broker.ctl_json("alerts") if a["id"] == alert_id]
        assert alert["acked"] and alert["ack"]["comment"] == "rotating logs"
        assert [s["id"] for s in broker.ctl_json("silences")] == [silence["id"]]
        acks = broker.ctl_json("search", "kind:ack", "host:db-1")
        assert acks and "rotating logs" in acks[0]["message"] + str(acks[0]["data"])
    finally:
        broker.stop()
