"""The store on a really full file system (a 1 MiB tmpfs): after space returns it must stay
writing, each new failure is reported at once, and a schema migration that does not fit
is put off without stopping the store.

What these pin down (seen with schema v3, docs/events.md "Disk full"): the write-ahead log
was checkpointed only every 1,000 pages (16 MiB with 16 KiB pages), so every commit after
the disk was freed appended its pages to the WAL file and the freed space was eaten within
a few commits; and a failure less than 30 s after the last report was not reported, so the
notify feed kept an event (the store_failing RESOLVED page) waiting for a commit that never
came.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from broker.store.store import Store
from core.clock import FakeClock
from tests.chaos.conftest import fill
from tests.procs import wait_for
from tests.unit.store_helpers import T0, ev, v2_file

pytestmark = pytest.mark.integration


def alert(i: int) -> dict[str, object]:
    """An alert event: it touches the events table, its indexes, FTS and an episode."""
    return ev("alert", f"web-{i % 7} cpu high {i}", ts=time.time(), host=f"web-{i % 7}",
              severity="critical", rule="high_cpu", alert_id=f"a{i % 5}",
              data={"to": "firing" if i % 2 else "resolved", "value": float(i)})


def write_until_failing(s: Store) -> None:
    """Put events until a write fails: right after the disk fills, a commit may still fit
    in space the WAL file or the database already hold."""
    deadline = time.monotonic() + 10
    i = 0
    while s.health()[0] == "ok" and time.monotonic() < deadline:
        s.put(ev("log", f"filling {i} " + "x" * 4000, ts=time.time()))
        i += 1
        time.sleep(0.02)  # poll
    assert s.health()[0] == "failing", "the full disk never made a write fail"


def open_store(path: Path, errors: list[str], recovered: list[str]) -> Store:
    s = Store(path, batch_interval=0.01, on_error=errors.append,
              on_recover=recovered.append).open()
    s.start()
    return s


def test_after_space_returns_the_store_keeps_writing(tiny_mount: Path) -> None:
    errors: list[str] = []
    recovered: list[str] = []
    s = open_store(tiny_mount / "events.db", errors, recovered)
    try:
        for i in range(20):
            s.put(alert(i))
        assert s.flush(5)
        filler = fill(tiny_mount / "filler")
        s.put(alert(20))
        write_until_failing(s)
        wait_for(lambda: errors, 2, "the failure to be reported")
        freed = filler.stat().st_size
        filler.unlink()
        assert s.flush(10), "the held event was not written after space returned"
        # A steady trickle, as a broker writes: 60 commits. Each is a few pages; without a
        # checkpoint each would add them to the WAL until the freed space is gone.
        for i in range(21, 81):
            s.put(alert(i))
            assert s.flush(5), (f"commit {i - 20} failed after {freed} bytes were freed: "
                                f"{s.health()}")
        assert s.health() == ("ok", "")
        wal = tiny_mount / "events.db-wal"
        assert not wal.exists() or wal.stat().st_size < freed // 2, wal.stat().st_size
        assert len(s.search("cpu", limit=500)) == 81  # every alert, none lost in the outage
    finally:
        s.stop()


def test_a_failure_after_a_recovery_is_reported_at_once(tiny_mount: Path) -> None:
    errors: list[str] = []
    recovered: list[str] = []
    s = open_store(tiny_mount / "events.db", errors, recovered)
    try:
        s.put(alert(0))
        assert s.flush(5)
        filler = fill(tiny_mount / "filler")
        s.put(alert(1))
        write_until_failing(s)
        wait_for(lambda: errors, 2, "the first failure to be reported")
        filler.unlink()
        assert s.flush(10)
        wait_for(lambda: recovered, 5, "the recovery to be reported")
        reported = len(errors)
        filler = fill(tiny_mount / "filler")  # full again, seconds after the first report
        write_until_failing(s)
        wait_for(lambda: len(errors) > reported, 2,
                 "the second failure to be reported (on_error), not held back 30 s")
        os.unlink(filler)
        assert s.flush(10)
        assert len(recovered) == 2
    finally:
        s.stop()


def test_a_migration_that_does_not_fit_is_put_off_and_the_store_serves(
        tiny_mount: Path, tmp_path: Path) -> None:
    path = tiny_mount / "events.db"
    v2_file(tmp_path / "v2.db", series=1000, minutes=6)  # built off the tmpfs (its WAL
    shutil.copy(tmp_path / "v2.db", path)  # doubles it): 590 KB; v3's indexes need ~150 KB
    spare = tiny_mount / "spare"
    spare.write_bytes(b"\0" * 65536)
    filler = fill(tiny_mount / "filler")
    spare.unlink()  # 64 KiB free: the -shm file fits, the new index does not
    errors: list[str] = []
    s = Store(path, clock=FakeClock(T0), batch_interval=0.01, on_error=errors.append).open()
    s.start()
    try:
        assert s.schema == 2 and len(s.deferred) == 1
        assert "schema v3 not applied" in s.deferred[0] and "full" in s.deferred[0]
        assert errors and "schema v3 not applied" in errors[0] and str(path) in errors[0]
        assert "schema v3" in s.stats()["schema_deferred"]
        got = s.fleet_at(T0 - 60, 60, set(), None, lambda m: False)  # through rollups_age
        assert len(got["hosts"]) == 50 and all(len(m) == 20 for _, m in got["hosts"].values())
        assert [a["state"] for a in got["alerts"]] == ["firing"]
        filler.unlink()
        s.put(ev("log", "after the disk was freed", ts=T0))
        assert s.flush(10) and s.health() == ("ok", "")
    finally:
        s.stop()
    s = Store(path, clock=FakeClock(T0)).open()  # the next start, with room: migrated
    try:
        assert s.schema == 3 and not s.deferred
        assert len(s.fleet_at(T0 - 60, 60, set(), None, lambda m: False)["hosts"]) == 50
    finally:
        s.stop()
