"""A big event store is checked while the broker runs: start-up does not wait for a read of
every page, and damage found later pages ``store_failing`` and shows in ``status``."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.store.integrity import ENV_INLINE_MB
from tests.chaos.test_chaos_store import config, rules_in, store_of
from tests.notify_servers import Recorder
from tests.procs import Broker, wait_for
from tests.unit.store_helpers import old_rows_damaged

pytestmark = pytest.mark.integration


def test_damage_found_after_start_pages_and_the_broker_stays_up(tmp_path: Path,
                                                                hook: Recorder) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old_rows_damaged(data / "events.db")
    b = Broker(data, "--config", str(config(tmp_path, hook.url)), env={ENV_INLINE_MB: "0"})
    try:
        st = wait_for(lambda: (s := store_of(b))["state"] == "corrupt" and s, 20, "corrupt")
        assert st["check"] == "corrupt" and "quick_check" in st["reason"]
        assert "move it aside or restore a backup" in st["reason"]
        assert "store: corrupt" in b.ctl("status").stdout
        wait_for(lambda: ("store_failing", "firing") in rules_in(hook), 10,
                 "the store_failing page")
        b.ctl_json("simulate", "high_cpu_usage", "--host", "web-3")  # still ingests, pages
        wait_for(lambda: ("high_cpu_usage", "firing") in rules_in(hook), 10, "a page")
        assert b.proc.poll() is None
    finally:
        b.stop()


def test_an_intact_big_store_checks_ok(tmp_path: Path, hook: Recorder) -> None:
    data = tmp_path / "data"
    data.mkdir()
    b = Broker(data, "--config", str(config(tmp_path, hook.url)))
    b.ctl_json("simulate", "high_cpu_usage", "--host", "web-4")
    wait_for(lambda: b.ctl_json("search", "host:web-4"), 10, "a stored event")
    b.stop()
    b = Broker(data, "--config", str(config(tmp_path, hook.url)), env={ENV_INLINE_MB: "0"})
    try:
        st = wait_for(lambda: (s := store_of(b))["check"] == "ok" and s, 20, "checked")
        assert st["state"] == "ok" and st["check_s"] >= 0
    finally:
        b.stop()
