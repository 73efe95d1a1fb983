"""A full disk at start-up and at stop: the notification outbox, the shutdown order, and a
store with no -shm file and no space reserve.

A broker restarted on a full disk with no notify.db yet still pages (the outbox runs in
memory); stopping it while the disk is still full says nothing but the store's own lines:
no traceback, no 'closed database' from the notify feed handing a page to a closed outbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import fill
from tests.chaos.test_chaos_store import config, rules_in, store_of
from tests.notify_servers import Recorder
from tests.procs import Broker, wait_for

pytestmark = pytest.mark.integration


def stop_reading_stderr(b: Broker) -> str:
    b.proc.terminate()
    _, err = b.proc.communicate(timeout=30)
    return err


def test_full_disk_new_outbox_pages_from_memory_and_stops_cleanly(
        tmp_path: Path, tiny_mount: Path, hook: Recorder) -> None:
    data = tiny_mount / "data"
    cfg = str(config(tmp_path, hook.url))
    Broker(data).stop()  # an events.db from a run before
    assert (data / "events.db").is_file()
    (data / "notify.db").unlink(missing_ok=True)  # the outbox file does not exist yet
    for extra in ("notify.db-wal", "notify.db-shm"):
        (data / extra).unlink(missing_ok=True)
    spare = tiny_mount / "spare"
    spare.write_bytes(b"\0" * 65536)
    filler = fill(tiny_mount / "filler")
    spare.unlink()  # 64 KiB free: the store's -shm fits, little else
    b = Broker(data, "--config", cfg)
    try:
        st = store_of(b)
        assert "in memory" in st["outbox"], st  # notify.db could not be made: not fatal
        b.ctl_json("simulate", "high_cpu_usage", "--host", "web-9")
        wait_for(lambda: ("high_cpu_usage", "firing") in rules_in(hook), 10,
                 "the FIRING page from the in-memory outbox")
        wait_for(lambda: store_of(b)["state"] == "failing", 15, "the store failing")
        assert b.proc.poll() is None
    finally:
        err = stop_reading_stderr(b)  # the disk still full
        b.stop()
        filler.unlink()
    assert b.proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert "closed database" not in err, err


def test_a_broker_starts_and_pages_on_a_full_disk_with_no_reserve(
        tmp_path: Path, tiny_mount: Path, hook: Recorder) -> None:
    """The 1 MiB disk never had room for a space reserve (broker/store/reserve.py), and a
    clean stop leaves no -shm file, which SQLite must make to open the store. The store is
    opened with its wal-index in memory instead: the broker starts, pages, writes once room
    returns; it was refused before ("cannot be read"), and nothing paged."""
    data = tiny_mount / "data"
    Broker(data).stop()
    assert not (data / "events.db-shm").exists() and not (data / "events.db-reserve").exists()
    filler = fill(tiny_mount / "filler")
    try:
        b = Broker(data, "--config", str(config(tmp_path, hook.url)))
        try:
            st = store_of(b)
            assert st["shm"] == "memory" and st["reserve"] == "none"
            assert "wal-index in memory" in b.ctl("status").stdout
            b.ctl_json("simulate", "high_cpu_usage", "--host", "web-5")
            wait_for(lambda: ("high_cpu_usage", "firing") in rules_in(hook), 10,
                     "the FIRING page from a broker started on a full disk")
            wait_for(lambda: store_of(b)["state"] == "failing", 10, "the store failing")
            filler.unlink()
            wait_for(lambda: b.ctl_json("search", "host:web-5 kind:alert"), 15,
                     "the alert event written once there was room")
            wait_for(lambda: store_of(b)["state"] == "ok", 15, "the store ok")
            assert b.proc.poll() is None
        finally:
            err = stop_reading_stderr(b)
            b.stop()
        assert b.proc.returncode == 0 and "Traceback" not in err, err
        assert "wal-index in memory" in err  # said once, in the broker's log
    finally:
        filler.unlink(missing_ok=True)
    b = Broker(data)  # with room again the same file opens as usual: it was never damaged
    try:
        assert "shm" not in store_of(b) and b.ctl_json("search", "host:web-5 kind:alert")
    finally:
        b.stop()
