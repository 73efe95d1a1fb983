"""The event store on real SQLite files: writing, flushing, corruption, migrations,
write failures and recovery, retention, state, episodes and export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time

import pytest

from broker.store.queue import BatchQueue
from broker.store.store import Store, StoreError
from core.clock import FakeClock
from tests.unit.store_helpers import T0, ev, running_store


def _count(path, sql="SELECT count(*) FROM events", params=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def test_put_flush_and_read_back(tmp_path):
    committed = []
    with running_store(tmp_path / "e.db", on_commit=committed.extend) as s:
        events = [ev("log", f"line {i}", ts=T0 + i, host="web-1") for i in range(500)]
        for e in events:
            s.put(e)
        assert s.flush(10)
        assert _count(tmp_path / "e.db") == 500
        assert [e["id"] for e in committed] == [e["id"] for e in events]
        assert s.search("line", limit=1)[0]["id"] == events[-1]["id"]
        assert s.stats()["rows"] == 500
        assert s.stats()["pending"] == 0


def test_flush_before_start_writes_on_the_callers_thread(tmp_path):
    with running_store(tmp_path / "e.db", start=False) as s:
        s.put(ev("log", "early"))
        assert s.flush(5)
        assert [e["message"] for e in s.search("early")] == ["early"]


def test_stop_commits_what_is_queued(tmp_path):
    path = tmp_path / "e.db"
    with running_store(path) as s:
        for i in range(300):
            s.put(ev("log", f"x{i}"))
    assert _count(path) == 300


def test_bad_event_is_refused_by_put_not_by_the_writer(tmp_path):
    with running_store(tmp_path / "e.db") as s:
        with pytest.raises(ValueError, match="needs id, ts, kind"):
            s.put({"kind": "log", "ts": "soon"})
        s.put(ev("log", "fine", data={"b": b"\x00", "o": object()}))  # not JSON: repr'd
        assert s.flush(5)
        assert s.search("fine")[0]["data"]["b"] == "b'\\x00'"


def test_put_after_stop_raises(tmp_path):
    s = Store(tmp_path / "e.db").open()
    s.stop()
    with pytest.raises(StoreError):
        s.put(ev())


def test_queue_applies_back_pressure_instead_of_dropping():
    q = BatchQueue(2)
    q.put(1)
    q.put(2)
    with pytest.raises(TimeoutError):
        q.put(3, timeout=0.01)
    done = threading.Event()
    t = threading.Thread(target=lambda: (q.put(3), done.set()))
    t.start()
    assert not done.is_set()
    assert q.take(10) == [1, 2]
    t.join(5)
    assert done.is_set() and q.take(10) == [3]


def test_small_queue_loses_nothing_under_a_burst(tmp_path):
    path = tmp_path / "e.db"
    with running_store(path, max_pending=16, max_batch=8) as s:
        threads = [threading.Thread(target=lambda k=k: [s.put(ev("log", f"t{k} {i}"))
                                                        for i in range(400)]) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert s.flush(10)
    assert _count(path) == 1600


def test_recent_is_newest_first_and_survives_restart(tmp_path):
    path = tmp_path / "e.db"
    with running_store(path) as s:
        for i in range(5):
            s.put(ev("log", f"m{i}", ts=T0 + i))
        assert [e["message"] for e in s.recent(3)] == ["m4", "m3", "m2"]
    with running_store(path) as s:
        assert [e["message"] for e in s.recent(2)] == ["m4", "m3"]


# -- write failures ---------------------------------------------------------------------------

class FillableDisk(sqlite3.Connection):
    """A real connection whose database can be made full: SQLite's own SQLITE_FULL path."""

    cap: int | None = None

    def execute(self, sql, *args):
        if sql.startswith("BEGIN"):
            limit = self.cap if self.cap is not None else 1073741823
            super().execute(f"PRAGMA max_page_count = {limit}")
        return super().execute(sql, *args)


def test_full_disk_is_reported_events_are_kept_and_writes_resume(tmp_path):
    conns: list[FillableDisk] = []

    def connect(p):
        c = sqlite3.connect(p, factory=FillableDisk, check_same_thread=False,
                            isolation_level=None)
        conns.append(c)
        return c

    errors, recovered = [], []
    with running_store(tmp_path / "e.db", connect=connect, on_error=errors.append,
                       on_recover=recovered.append) as s:
        s.put(ev("log", "before the disk filled"))
        assert s.flush(5)
        conns[0].cap = 1  # clamps to the current size: the next page allocation fails
        burst = [ev("log", f"while full {i} " + "x" * 200) for i in range(2000)]
        for e in burst:
            s.put(e)
        assert not s.flush(0.3)
        _wait_for(lambda: errors)
        assert "database or disk is full" in errors[0]
        assert s.stats()["write_errors"] >= 1 and s.stats()["failing"]
        assert [e["message"] for e in s.search("before")] == ["before the disk filled"]
        conns[0].cap = None  # space returns
        assert s.flush(15)
        assert recovered and "resumed" in recovered[0]
        assert len(s.search("full", limit=5000)) == 2000
        assert s.stats()["failing"] == ""


def _wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        threading.Event().wait(0.01)


# -- retention ------------------------------------------------------------------------------

def test_retention_by_age_removes_rows_and_their_index_entries(tmp_path):
    clock = FakeClock(T0)
    path = tmp_path / "e.db"
    with running_store(path, clock, retention_s=3600) as s:
        for i in range(100):
            s.put(ev("log", f"old boring line {i}", ts=T0 - 7200 + i))
        for i in range(10):
            s.put(ev("log", f"new boring line {i}", ts=T0 - 60 + i))
        assert s.flush(5)
        res = s.enforce_retention()
        assert res["deleted_age"] == 100
        assert len(s.search("boring", limit=500)) == 10
        assert s.stats()["rows"] == 10
    conn = sqlite3.connect(path)
    try:  # the external-content FTS index agrees with the table
        conn.execute("INSERT INTO events_fts(events_fts) VALUES ('integrity-check')")
    finally:
        conn.close()


def test_retention_by_size_keeps_the_newest(tmp_path):
    # the cap is above an empty store's size (25 pages of 16 KiB: a root page per table and
    # index) and well under what the events take
    with running_store(tmp_path / "e.db", max_bytes=600_000) as s:
        for i in range(3000):
            s.put(ev("log", f"line {i} " + "padding words here " * 10, ts=T0 + i))
        assert s.flush(10)
        assert s.stats()["bytes"] > 1_000_000
        res = s.enforce_retention()
        assert res["deleted_size"] > 0
        assert s.stats()["bytes"] <= 600_000
        newest = s.search("", limit=1)[0]
        assert newest["message"].startswith("line 2999 ")
        assert not s.search('"line 0"')


def test_retention_by_size_takes_from_the_noisiest_host_first(tmp_path):
    with running_store(tmp_path / "e.db", max_bytes=900_000) as s:  # about 60% of it
        pad = "padding words here " * 10
        for i in range(3000):
            host = "noisy" if i % 10 else f"quiet-{i % 30}"
            s.put(ev("log", f"line {i} {pad}", ts=T0 + i, host=host))
        assert s.flush(10)
        res = s.enforce_retention()
        assert res["deleted_noisiest"] > 0 and s.stats()["bytes"] <= 900_000
        quiet = s.search("host:quiet-*", limit=1000)
        assert len(quiet) == 300  # every quiet host's history survived
        assert len(s.search("host:noisy", limit=5000)) < 2700


# -- state, episodes, export ------------------------------------------------------------------

def test_state_round_trip_before_and_after_commit_and_restart(tmp_path):
    path = tmp_path / "e.db"
    with running_store(path) as s:
        assert s.load_state("engine") is None
        assert s.load_state("engine", {}) == {}
        s.save_state("engine", {"alerts": [{"id": "a1", "v": 1.5}], 3: b"raw"})
        assert s.load_state("engine")["alerts"][0]["id"] == "a1"
        assert s.flush(5)
        s.save_state("engine", {"alerts": []})
    with running_store(path) as s:
        assert s.load_state("engine") == {"alerts": []}


def _alert(to, value, ts, severity="warning", frm="pending", aid="a1"):
    return ev("alert", f"cpu {to}", ts=ts, host="web-1", rule="high_cpu", alert_id=aid,
              severity=severity, data={"from": frm, "to": to, "value": value,
                                       "alert": {"id": aid, "simulated": False}})


def test_episodes_follow_alert_transitions_and_acks(tmp_path):
    with running_store(tmp_path / "e.db") as s:
        s.put(_alert("pending", 85.0, T0, aid="never"))  # pending only: no episode
        s.put(_alert("firing", 91.0, T0 + 1))
        s.put(ev("ack", "acked", ts=T0 + 2, alert_id="a1", data={"author": "ann",
                                                                  "comment": "on it"}))
        s.put(_alert("firing", 97.5, T0 + 3, severity="critical", frm="firing"))
        s.put(_alert("resolved", 40.0, T0 + 4, frm="firing"))
        s.put(_alert("firing", 92.0, T0 + 10))  # a second episode of the same alert
        assert s.flush(5)
        second, first = s.episodes(alert_id="a1")
        assert first["started_at"] == T0 + 1 and first["ended_at"] == T0 + 4
        assert first["peak"] == 97.5 and first["severity"] == "critical"
        assert [(a["author"], a["comment"]) for a in first["acks"]] == [("ann", "on it")]
        assert second["ended_at"] is None and second["peak"] == 92.0
        assert [e["started_at"] for e in s.episodes(open_only=True)] == [T0 + 10]
        assert s.episodes(alert_id="never") == []
        assert len(s.episodes(since=T0 + 5)) == 1


def test_export_jsonl_and_csv(tmp_path):
    with running_store(tmp_path / "e.db") as s:
        events = [ev("log", f'line {i}, "quoted"', ts=T0 + i, host="web-1",
                     data={"n": i}) for i in range(10)]
        for e in events:
            s.put(e)
        assert s.flush(5)
        out = io.StringIO()
        assert s.export(T0 + 2, T0 + 5, "jsonl", out) == 3
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [r["id"] for r in rows] == [e["id"] for e in events[2:5]]
        assert rows[0]["data"] == {"n": 2}
        out = io.StringIO()
        assert s.export(None, None, "csv", out) == 10
        table = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert table[0]["message"] == 'line 0, "quoted"'
        assert json.loads(table[9]["data"]) == {"n": 9}
        assert table[0]["time"].startswith("2023-11-14T22:13:20")
        out = io.StringIO()
        assert s.export(None, None, "jsonl", out, query="line -quoted") == 0
        with pytest.raises(ValueError, match="unknown export format"):
            s.export(None, None, "xml", io.StringIO())


def test_export_streams_in_chunks(tmp_path):
    with running_store(tmp_path / "e.db") as s:
        for i in range(12_345):
            s.put(ev("log", "bulk", ts=T0 + i))
        assert s.flush(10)
        out = io.StringIO()
        assert s.export(None, None, "jsonl", out, query="bulk") == 12_345


def test_an_open_episode_survives_a_restart_and_closes_later(tmp_path):
    path = tmp_path / "e.db"
    with running_store(path) as s:
        s.put(_alert("firing", 91.0, T0))
    with running_store(path) as s:
        s.put(ev("ack", "acked", ts=T0 + 1, alert_id="a1", data={"author": "bo"}))
        s.put(_alert("resolved", 10.0, T0 + 2, frm="firing"))
        assert s.flush(5)
        (ep,) = s.episodes()
        assert ep["ended_at"] == T0 + 2 and ep["peak"] == 91.0
        assert [a["author"] for a in ep["acks"]] == ["bo"]


def test_a_failed_batch_does_not_leave_episodes_half_applied(tmp_path):
    conns: list[FillableDisk] = []

    def connect(p):
        conns.append(sqlite3.connect(p, factory=FillableDisk, check_same_thread=False,
                                     isolation_level=None))
        return conns[-1]

    with running_store(tmp_path / "e.db", connect=connect) as s:
        conns[0].cap = 1
        s.put(_alert("firing", 91.0, T0))
        s.put(ev("log", "y" * 20_000))  # needs new pages: the batch fails and is retried
        assert not s.flush(0.2)
        conns[0].cap = None
        assert s.flush(10)
        (ep,) = s.episodes()
        assert ep["started_at"] == T0 and ep["ended_at"] is None


def test_retention_runs_in_the_background(tmp_path):
    clock = FakeClock(T0)
    with running_store(tmp_path / "e.db", clock, retention_s=3600,
                       retention_interval=0.0) as s:
        for i in range(50):
            s.put(ev("log", f"stale {i}", ts=T0 - 7200))
        s.put(ev("log", "fresh", ts=T0))
        assert s.flush(5)
        _wait_for(lambda: s.stats()["retention_deleted"] == 50)
        assert [e["message"] for e in s.search("")] == ["fresh"]


def test_odd_event_data_neither_breaks_episodes_nor_the_writer(tmp_path):
    with running_store(tmp_path / "e.db") as s:
        s.put(ev("alert", "list data", alert_id="x1", data=["to", "firing"]))  # type: ignore[arg-type]
        s.put(ev("alert", "fine", alert_id="x2", data={"to": "firing", "value": "high"}))
        s.put(ev("log", "after"))
        assert s.flush(5)
        assert s.stats()["write_errors"] == 0
        (ep,) = s.episodes()
        assert ep["alert_id"] == "x2" and ep["peak"] is None
