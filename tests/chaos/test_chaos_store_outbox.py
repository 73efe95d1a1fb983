"""A full disk at start-up and at stop: the notification outbox and the shutdown order.

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


def test_a_store_that_cannot_be_read_on_a_full_disk_is_not_called_damaged(
        tiny_mount: Path) -> None:
    data = tiny_mount / "data"
    Broker(data).stop()  # a clean stop leaves no -shm: opening in WAL mode must make one
    assert not (data / "events.db-shm").exists()
    filler = fill(tiny_mount / "filler")
    try:
        b = None
        try:
            b = Broker(data)
        except AssertionError as exc:
            err = str(exc)
        finally:
            if b is not None:
                b.stop()
        assert b is None, "started with no room for the store's -shm"
        assert "events.db cannot be read" in err and "not known to be damaged" in err, err
        assert "move it aside" not in err and "not a valid SQLite" not in err, err
    finally:
        filler.unlink()
    Broker(data).stop()  # with room again the same file opens: it was never damaged
