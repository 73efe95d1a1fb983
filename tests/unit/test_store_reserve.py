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
        def open_() -> None:
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
    tries: list[int] = []

    def open_() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise StoreError("cannot be read (disk I/O error)")
        return "opened"

    assert reserve.open_anyway(open_, db) == ("opened", True)
    assert not reserve.path_of(db).exists() and reserve.state(db, True) == "released"
    tries.clear()
    with pytest.raises(StoreError):  # no reserve left: the error stands
        reserve.open_anyway(open_, db)
    assert not reserve.keep(db)  # no room: none made
