"""The integrity check of a big store runs beside the broker: open is quick, damage pages."""

from __future__ import annotations

import pytest

from broker.store.integrity import ENV_INLINE_MB, inline_limit
from broker.store.store import Store, StoreCorrupt, StoreError
from tests.procs import wait_for
from tests.unit.store_helpers import damaged, ev, old_rows_damaged, running_store


def test_damage_in_the_newest_rows_is_refused_at_open_however_big(tmp_path):
    path = tmp_path / "e.db"
    damaged(path)
    with pytest.raises(StoreCorrupt, match="damaged|corrupt|not a valid"):
        Store(path, inline_check_bytes=0).open()


def test_big_damaged_file_opens_and_the_check_beside_it_pages(tmp_path):
    path = tmp_path / "e.db"
    old_rows_damaged(path)
    with pytest.raises(StoreCorrupt, match="corrupt|not a valid SQLite"):
        Store(path).open()  # small: checked at open, as before
    errors: list[str] = []
    store = Store(path, inline_check_bytes=0, batch_interval=0.01, on_error=errors.append)
    store.open()  # "big": only the header and schema are read now
    try:
        assert store.check is not None and store.health() == ("ok", "")
        store.start()
        wait_for(lambda: store.check.state != "running", timeout=20)
        assert store.check.state == "corrupt", store.check.status()
        state, reason = store.health()
        assert state == "corrupt" and "quick_check" in reason and str(path) in reason
        assert errors and "move it aside or restore a backup" in errors[0]
        assert store.stats()["check"] == "corrupt"
    finally:
        store.stop()


def test_big_intact_file_checks_ok_and_keeps_writing(tmp_path):
    path = tmp_path / "e.db"
    with running_store(path) as s:
        for i in range(500):
            s.put(ev("log", f"row {i}"))
    errors: list[str] = []
    with running_store(path, inline_check_bytes=0, on_error=errors.append) as store:
        store.put(ev("log", "written while the check runs"))
        wait_for(lambda: store.check.state == "ok", timeout=20)
        wait_for(lambda: store.search("written while", limit=5), timeout=10)
        assert store.health() == ("ok", "") and errors == []
        assert store.stats()["check"] == "ok"


def test_small_file_has_no_check_beside_it(tmp_path):
    with running_store(tmp_path / "e.db") as store:
        assert store.check is None and "check" not in store.stats()


def test_inline_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_INLINE_MB, "0.5")
    assert inline_limit() == 2**19
    assert inline_limit(7) == 7
    monkeypatch.setenv(ENV_INLINE_MB, "lots")
    with pytest.raises(StoreError, match=f"{ENV_INLINE_MB}='lots': expected megabytes"):
        inline_limit()
