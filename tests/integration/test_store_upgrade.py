"""A schema migration too long for start-up is put off; ``--migrate-store`` applies it.

Real broker processes over a real schema-v2 file. The threshold (seconds of index building
allowed at start-up, broker/store/upgrade.py) is lowered through its environment variable so
that a 600 KB file stands for the 60M-row store that took minutes to migrate.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from broker.store.upgrade import ENV_MAX_S
from tests.procs import ENV, Broker, command
from tests.unit.store_helpers import v2_file

pytestmark = pytest.mark.integration
TINY = {ENV_MAX_S: "0.001"}  # 590 KB is estimated at ~0.03 s: over it


def migrate_store(data_dir: Path, env: dict[str, str] | None = None
                  ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command("monitor-broker"), "--data-dir", str(data_dir),
                           "--migrate-store"], capture_output=True, text=True, timeout=60,
                          env={**ENV, **(env or {})})


def stop_reading_stderr(b: Broker) -> str:
    b.proc.terminate()
    _, err = b.proc.communicate(timeout=15)
    return err


def test_a_long_migration_is_put_off_and_migrate_store_applies_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    v2_file(data / "events.db", series=1000, minutes=6)
    t0 = time.monotonic()
    b = Broker(data, env=TINY)
    try:
        st = b.ctl_json("status")["store"]
        assert st["schema"] == 2
        note = st["schema_deferred"]
        assert "schema v3 put off" in note
        assert f"monitor-broker --data-dir {data} --migrate-store" in note
        text = b.ctl("status").stdout
        assert "store: schema v3 put off" in text and "--migrate-store" in text
        # a running broker holds the data dir: the migration refuses, in one line
        busy = migrate_store(data)
        assert busy.returncode == 1
        assert busy.stderr.count("\n") == 1 and "in use by another broker" in busy.stderr
        assert f"pid {b.proc.pid}" in busy.stderr
    finally:
        err = stop_reading_stderr(b)
        b.stop()
    assert err.count("schema v3 put off") == 1, err  # said once at start, not per write
    assert "Traceback" not in err and " ERROR " not in err, err
    assert time.monotonic() - t0 < 60

    done = migrate_store(data)
    assert done.returncode == 0, done.stderr
    assert "schema v2 -> v3 in" in done.stdout and "estimated about" in done.stdout
    again = migrate_store(data)
    assert again.returncode == 0 and "already at schema v3" in again.stdout

    b = Broker(data, env=TINY)  # the next start uses v3, whatever the threshold
    try:
        st = b.ctl_json("status")["store"]
        assert st["schema"] == 3 and "schema_deferred" not in st
        assert "put off" not in b.ctl("status").stdout
    finally:
        b.stop()


def test_the_default_threshold_migrates_a_small_store_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    v2_file(data / "events.db", series=1000, minutes=6)
    b = Broker(data)
    try:
        st = b.ctl_json("status")["store"]
        assert st["schema"] == 3 and "schema_deferred" not in st
    finally:
        b.stop()


@pytest.mark.parametrize("make, expect", [
    (lambda d: None, "no such directory"),
    (lambda d: d.mkdir(), "no event store at"),
    (lambda d: (d.mkdir(), (d / "events.db").write_bytes(b"not sqlite" * 500)),
     "not a valid SQLite database"),
])
def test_migrate_store_on_a_bad_data_dir_says_what_is_wrong(tmp_path: Path, make: object,
                                                            expect: str) -> None:
    data = tmp_path / "data"
    make(data)  # type: ignore[operator]
    got = migrate_store(data)
    assert got.returncode == 1
    assert got.stderr.count("\n") == 1 and expect in got.stderr, got.stderr
    assert got.stderr.startswith("monitor-broker: error: ")
