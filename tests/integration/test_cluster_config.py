"""`[cluster] round_trip_timeout` with a real broker: it reaches the claim book, a bad value
stops the start with one line naming the key, and a reload with one changes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.procs import ENV, Broker, command

pytestmark = pytest.mark.integration


def write(path: Path, round_trip: str) -> str:
    path.write_text(f'[cluster]\nname = "a"\nround_trip_timeout = {round_trip}\n')
    return str(path)


def test_the_round_trip_timeout_reaches_the_claim_book_and_a_bad_one_is_refused(
        tmp_path: Path) -> None:
    cfg = tmp_path / "broker.toml"
    b = Broker(tmp_path / "data", "--config", write(cfg, '"750ms"'))
    try:
        assert b.ask("cluster")["round_trip_timeout_s"] == 0.75
        write(cfg, '"1 minute"')
        bad = b.ctl("reload")
        assert bad.returncode == 1
        assert "[cluster] key 'round_trip_timeout': bad duration '1 minute'" in bad.stderr
        assert b.ask("cluster")["round_trip_timeout_s"] == 0.75
        assert b.proc.poll() is None  # still up
    finally:
        b.stop()

    default = Broker(tmp_path / "data2")
    try:
        assert default.ask("cluster")["round_trip_timeout_s"] == 2.0
    finally:
        default.stop()

    write(cfg, '"30s"')
    started = subprocess.run([*command("monitor-broker"), "--ingest", "tcp://127.0.0.1:*",
                              "--publish", "tcp://127.0.0.1:*", "--control",
                              "tcp://127.0.0.1:*", "--data-dir", str(tmp_path / "data3"),
                              "--config", str(cfg)],
                             capture_output=True, text=True, timeout=30, env=ENV)
    assert started.returncode != 0
    lines = started.stderr.strip().splitlines()
    assert lines == [f"monitor-broker: error: {cfg}: [cluster] key 'round_trip_timeout' (30s): "
                     "must be below 'claim_lease' (15s), or a claim runs out while it waits"]
