"""The store fails (disk full, read-only): paging goes on and ``status`` says so."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from broker.notify.outbox import Outbox
from tests.chaos.conftest import fill
from tests.notify_servers import Recorder
from tests.procs import ENV, Broker, command, wait_for
from tests.unit.store_helpers import v2_file

pytestmark = pytest.mark.integration


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "broker.toml"
    path.write_text(f'''
[[receiver]]
name = "hook"
type = "webhook"
url = "{url}"

[[route]]
receiver = "hook"
match = {{ severity = "critical" }}
group_wait = "0s"
group_interval = "1s"
''')
    return path


def rules_in(rec: Recorder) -> list[tuple[str, str]]:
    out = []
    for r in rec.ok():
        body = json.loads(r["body"])
        out += [(a["labels"].get("alertname", ""), a["status"]) for a in body["alerts"]]
    return out


def store_of(b: Broker) -> dict[str, Any]:
    return b.ctl_json("status")["store"]


def test_disk_full_pages_anyway_and_status_says_failing(tmp_path: Path, tiny_mount: Path,
                                                        hook: Recorder) -> None:
    b = Broker(tiny_mount / "data", "--config", str(config(tmp_path, hook.url)))
    try:
        assert store_of(b)["state"] == "ok"
        filler = fill(tiny_mount / "filler")
        b.ctl_json("simulate", "high_cpu_usage", "--host", "web-9")
        wait_for(lambda: ("high_cpu_usage", "firing") in rules_in(hook), 10,
                 "the FIRING page while the disk is full")
        st = wait_for(lambda: (s := store_of(b))["state"] == "failing" and s, 10, "failing")
        assert "full" in st["reason"]
        assert "store: failing" in b.ctl("status").stdout
        wait_for(lambda: ("store_failing", "firing") in rules_in(hook), 10,
                 "the store_failing page")
        filler.unlink()
        wait_for(lambda: store_of(b)["state"] == "ok", 15, "the store to recover")
        wait_for(lambda: ("store_failing", "resolved") in rules_in(hook), 10,
                 "store_failing resolved")
        found = b.ctl_json("search", "host:web-9 kind:alert")
        assert found, "the alert event held during the outage was written after it"
        assert b.proc.poll() is None
    finally:
        b.stop()


def start_error(data_dir: Path, *extra: str) -> str:
    out = subprocess.run([*command("monitor-broker"), "--ingest", "tcp://127.0.0.1:*",
                          "--publish", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*",
                          "--data-dir", str(data_dir), *extra],
                         capture_output=True, text=True, timeout=20, env=ENV)
    assert out.returncode == 1, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_read_only_data_dir_is_reported_as_read_only(tmp_path: Path, tiny_mount: Path) -> None:
    b = Broker(tiny_mount / "data")  # a real store file, then the same dir mounted read-only
    b.stop()
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "--bind", str(tiny_mount / "data"), str(ro)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
        err = start_error(ro)
        assert "read-only" in err and str(ro / "events.db") in err
        assert "corrupt" in err and "not corrupt" in err  # says what it is not
    finally:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True)


def test_start_up_errors_name_the_file(tmp_path: Path, hook: Recorder) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "events.db").mkdir()
    err = start_error(data)
    assert str(data / "events.db") in err and "directory" in err
    (data / "events.db").rmdir()
    (data / "events.db").write_bytes(b"")
    err = start_error(data)
    assert str(data / "events.db") in err and "0 bytes" in err
    (data / "events.db").unlink()
    (data / "notify.db").write_bytes(b"this is not a database at all" * 100)
    err = start_error(data, "--config", str(config(tmp_path, hook.url)))
    assert str(data / "notify.db") in err and "not a database" in err


def test_a_schema_migration_that_does_not_fit_neither_stops_the_broker_nor_paging(
        tmp_path: Path, tiny_mount: Path, hook: Recorder) -> None:
    data = tiny_mount / "data"
    data.mkdir()
    v2_file(tmp_path / "v2.db", series=1000, minutes=6)  # built off the tmpfs: 590 KB;
    shutil.copy(tmp_path / "v2.db", data / "events.db")  # schema v3 needs ~150 KB more
    Outbox(data / "notify.db").close()  # an upgrade: the old broker's outbox is there
    spare = tiny_mount / "spare"
    spare.write_bytes(b"\0" * 131072)
    filler = fill(tiny_mount / "filler")
    spare.unlink()  # 128 KiB free: the broker's small files fit, the new indexes do not
    b = Broker(data, "--config", str(config(tmp_path, hook.url)))
    try:
        st = store_of(b)
        assert st["schema"] == 2 and "schema v3 not applied" in st["schema_deferred"]
        assert "in memory" in st["outbox"]  # notify.db could not be opened either: not fatal
        assert "store: schema v3 not applied" in b.ctl("status").stdout
        b.ctl_json("simulate", "high_cpu_usage", "--host", "web-9")
        wait_for(lambda: ("high_cpu_usage", "firing") in rules_in(hook), 10,
                 "the FIRING page with the migration put off")
        filler.unlink()
        wait_for(lambda: store_of(b)["state"] == "ok", 15, "the store writing")
        assert b.proc.poll() is None
    finally:
        b.stop()
    b = Broker(data)  # the next start has room: the migration runs
    try:
        st = store_of(b)
        assert st["schema"] == 3 and "schema_deferred" not in st
    finally:
        b.stop()
