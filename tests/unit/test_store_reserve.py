"""The store's disk space reserve: made with room, given up only to open on a full disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.store import reserve
from broker.store.schema import StoreCorrupt, StoreError


def test_made_allocated_and_only_once(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    assert reserve.keep(db) and reserve.state(db, False) == "kept"
    p = reserve.path_of(db)
    assert p.stat().st_size == reserve.RESERVE_BYTES
    assert p.stat().st_blocks * 512 >= reserve.RESERVE_BYTES  # real blocks
    inode = p.stat().st_ino
    assert reserve.keep(db) and p.stat().st_ino == inode


def test_a_failure_with_room_or_a_damaged_file_is_never_retried(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    reserve.keep(db)
    calls: list[int] = []

    def failing(exc: Exception):
        def open_(shm_in_memory: bool) -> None:
            calls.append(1)
            raise exc
        return open_

    with pytest.raises(StoreError, match="locked"):  # the disk has room: not the cause
        reserve.open_anyway(failing(StoreError("locked")), db)
    with pytest.raises(StoreCorrupt):
        reserve.open_anyway(failing(StoreCorrupt("damaged")), db)
    assert len(calls) == 2 and reserve.path_of(db).exists()


def test_given_up_once_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "events.db"
    reserve.keep(db)
    monkeypatch.setattr(reserve, "free_bytes", lambda d: 0)  # the file system's answer
    tries: list[bool] = []

    def open_(shm_in_memory: bool) -> str:
        tries.append(shm_in_memory)
        if len(tries) == 1:
            raise StoreError("cannot be read (disk I/O error)")
        return "opened"

    assert reserve.open_anyway(open_, db) == ("opened", "reserve")
    assert tries == [False, False]
    assert not reserve.path_of(db).exists() and reserve.state(db, True) == "released"
    assert not reserve.keep(db)  # no room: none made


def test_with_no_reserve_left_the_wal_index_goes_to_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "events.db"
    monkeypatch.setattr(reserve, "free_bytes", lambda d: 0)
    tries: list[bool] = []

    def open_(shm_in_memory: bool) -> str:
        tries.append(shm_in_memory)
        if not shm_in_memory:
            raise StoreError("cannot be read (disk I/O error)")
        return "opened"

    assert reserve.open_anyway(open_, db) == ("opened", reserve.SHM_IN_MEMORY)
    assert tries == [False, True]  # nothing to release: straight to the in-memory index
    tries.clear()
    db2 = tmp_path / "b" / "events.db"
    db2.parent.mkdir()
    monkeypatch.setattr(reserve, "free_bytes", lambda d: 0)
    reserve_file = reserve.path_of(db2)
    reserve_file.write_bytes(b"\0" * 16)  # a reserve, but the open still fails after it

    def never(shm_in_memory: bool) -> str:
        tries.append(shm_in_memory)
        if not shm_in_memory:
            raise StoreError("disk full")
        return "opened"

    assert reserve.open_anyway(never, db2) == ("opened", "reserve shm-in-memory")
    assert tries == [False, False, True] and not reserve_file.exists()


def test_the_in_memory_uri_quotes_the_path(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "a b?c#d" / "events.db"
    db.parent.mkdir()
    assert reserve.uri(db, False) == str(db)
    conn = sqlite3.connect(reserve.uri(db, True), uri=True, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    try:  # a WAL database open and written, its wal-index in memory: no -shm file
        assert db.with_name("events.db-wal").exists()
        assert not db.with_name("events.db-shm").exists()
    finally:
        conn.close()
