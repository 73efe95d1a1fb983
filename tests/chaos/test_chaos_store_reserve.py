"""A broker starts on a disk with no free byte: the store's space reserve is given up.

SQLite needs room for the store's ``-shm`` file to open it; a clean stop deletes that
file. Before the reserve (broker/store/reserve.py) a broker restarted on a full disk refused
to start, and nothing paged. The 1 MiB disk of tests/chaos/test_chaos_store_outbox.py never
has room for a reserve; this one has.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store.reserve import RESERVE_BYTES
from tests.chaos.conftest import fill, tmpfs
from tests.chaos.test_chaos_store import config, rules_in, store_of
from tests.notify_servers import Recorder
from tests.procs import Broker, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def mount16(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs: room for a reserve (8 MiB free) until it is filled up."""
    yield from tmpfs(tmp_path / "mnt16", "16m")


def test_a_broker_starts_and_pages_on_a_disk_with_no_free_byte(
        tmp_path: Path, mount16: Path, hook: Recorder) -> None:
    data = mount16 / "data"
    cfg = str(config(tmp_path, hook.url))
    Broker(data).stop()  # a run before: the store and its reserve
    reserve = data / "events.db-reserve"
    assert reserve.stat().st_blocks * 512 >= RESERVE_BYTES  # allocated, not sparse
    assert not (data / "events.db-shm").exists()  # so an open must make one
    filler = fill(mount16 / "filler")
    try:
        b = Broker(data, "--config", cfg)  # refused before the reserve: "cannot be read"
        try:
            assert store_of(b)["reserve"] == "released" and not reserve.exists()
            b.ctl_json("simulate", "high_cpu_usage", "--host", "web-7")
            wait_for(lambda: ("high_cpu_usage", "firing") in rules_in(hook), 10,
                     "the FIRING page from a broker started on a full disk")
            filler.unlink()
            wait_for(lambda: b.ctl_json("search", "host:web-7 kind:alert"), 15,
                     "the alert event written once there was room")
            wait_for(lambda: store_of(b)["state"] == "ok", 15, "the store ok")
            assert b.proc.poll() is None
        finally:
            b.stop()
    finally:
        filler.unlink(missing_ok=True)
    Broker(data).stop()  # the next start, with room: the reserve is made again
    assert reserve.exists() and store_of_file_is_intact(data / "events.db")


def store_of_file_is_intact(path: Path) -> bool:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        conn.close()
