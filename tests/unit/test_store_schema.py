"""The event store's file: corruption refused at open, schema migrations."""

from __future__ import annotations

import sqlite3

import pytest

from broker.store.schema import LATEST, MIGRATIONS
from broker.store.store import Store, StoreCorrupt, StoreError
from core.clock import FakeClock
from tests.unit.store_helpers import T0, damaged, ev, running_store, v2_file


def _count(path, sql="SELECT count(*) FROM events", params=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


# -- corruption and migrations --------------------------------------------------------------

def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "e.db"
    path.write_bytes(b"this is not sqlite at all" * 200)
    with pytest.raises(StoreCorrupt, match="not a valid SQLite database"):
        Store(path).open()


def test_damaged_pages_are_detected(tmp_path):
    path = tmp_path / "e.db"
    damaged(path)
    with pytest.raises(StoreCorrupt, match="corrupt|not a valid|cannot be opened"):
        Store(path).open()


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "e.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupt, match="not a monitor event store"):
        Store(path).open()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "e.db"
    Store(path).open().stop()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(StoreCorrupt, match="newer than this broker"):
        Store(path).open()


def test_migrates_a_version_1_file_and_indexes_its_rows(tmp_path):
    path = tmp_path / "e.db"
    conn = sqlite3.connect(path, isolation_level=None)
    version, script = MIGRATIONS[0]
    for stmt in script.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    conn.execute("PRAGMA application_id = 1297042993")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO events(id, ts, kind, host, message) VALUES "
                 "('old1', ?, 'log', 'web-1', 'kernel panic on boot')", (T0,))
    conn.close()
    with running_store(path) as s:
        (found,) = s.search("kernel panic host:web-1")
        assert found["id"] == "old1"
        s.put(ev("log", "kernel again", ts=T0 + 1))
        assert s.flush(5)
        assert len(s.search("kernel")) == 2
    assert _count(path, "PRAGMA user_version") == LATEST


def test_hand_altered_schema_is_refused(tmp_path):
    path = tmp_path / "e.db"
    Store(path).open().stop()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE episodes")
    conn.execute("CREATE TABLE episodes (id INTEGER PRIMARY KEY)")
    conn.close()
    with pytest.raises(StoreCorrupt, match="episodes"):
        Store(path).open()


def _names(path, kind="index"):
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = ?",
                                           (kind,))}
    finally:
        conn.close()


def test_migrates_a_version_2_file_to_the_covering_index(tmp_path):
    path = tmp_path / "e.db"
    v2_file(path, series=1000, minutes=6)
    assert _count(path, "PRAGMA user_version") == 2 and "rollups_age" in _names(path)
    with running_store(path, clock=FakeClock(T0)) as s:
        assert s.schema == 3 and not s.deferred
        got = s.fleet_at(T0 - 60, 60, set(), None, lambda m: False)
        assert len(got["hosts"]) == 50 and all(len(m) == 20 for _, m in got["hosts"].values())
        assert [a["state"] for a in got["alerts"]] == ["firing"]
    names = _names(path)
    assert {"rollups_at", "events_alert_ts", "episodes_ended"} <= names
    assert "rollups_age" not in names  # rollups_at serves retention's pruning too
    assert _count(path, "SELECT count(*) FROM rollups") == 6000
    assert _count(path, "PRAGMA user_version") == LATEST == 3


def test_a_failed_version_1_or_2_migration_still_stops_the_open(tmp_path):
    path = tmp_path / "e.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE rollups (x)")  # v2 would create it: the migration fails
    conn.execute("PRAGMA application_id = 1297042993")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with pytest.raises(StoreError, match="cannot be opened"):
        Store(path).open()


def test_a_migration_too_long_for_start_up_is_put_off_and_said(tmp_path):
    from broker.store.upgrade import estimate_s, migrate_offline

    path = tmp_path / "events.db"
    v2_file(path, series=1000, minutes=6)
    conn = sqlite3.connect(path)
    secs, used = estimate_s(conn)
    conn.close()
    assert used > 500_000 and 0 < secs < 1
    with running_store(path, migrate_max_s=secs * 2) as store:  # under the limit: applied
        assert store.schema == LATEST and not store.deferred
    v2_file(path2 := tmp_path / "v2b.db", series=1000, minutes=6)
    with running_store(path2, migrate_max_s=secs / 2) as store:
        assert store.schema == 2
        assert "schema v3 put off" in store.deferred[0]
        assert f"--data-dir {tmp_path} --migrate-store" in store.deferred[0]
        assert "rollups_at" not in _names(path2)
        assert store.stats()["schema_deferred"] == store.deferred[0]
    lines = []
    assert migrate_offline(path2, lines.append) == [3]
    assert "rollups_at" in _names(path2) and "v2 -> v3" in lines[-1]
    with running_store(path2, migrate_max_s=0) as store:
        assert store.schema == LATEST and not store.deferred


def test_a_new_file_is_never_put_off(tmp_path):
    with running_store(tmp_path / "new.db", migrate_max_s=0) as store:
        assert store.schema == LATEST and not store.deferred
