"""The writer's batch-level statements: multi-row inserts keep order and every value,
episodes are written once per batch and continue across a restart, bad timestamps are
refused at put()."""

from __future__ import annotations

import math
import sqlite3

import pytest

from broker.store.schema import _CHUNKS, insert_rows
from broker.store.store import Store
from core.clock import FakeClock
from tests.unit.store_helpers import T0, ev, running_store


@pytest.mark.parametrize("n", [0, 1, 4, 7, 99, 2000, 2637, 4506])
def test_insert_rows_keeps_order_and_values_for_any_count(n):
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (a INTEGER, b TEXT, c REAL)")
    rows = [(i, f"row {i}", i / 3) for i in range(n)]
    insert_rows(conn, "INSERT INTO t(a, b, c)", rows, 3)
    assert conn.execute("SELECT a, b, c FROM t ORDER BY rowid").fetchall() == rows


def test_insert_rows_upsert_tail_applies_rows_in_order():
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)")
    rows = [("a", 1), ("b", 2), ("a", 10)] * 700  # duplicates within one statement
    insert_rows(conn, "INSERT INTO t(k, n)", rows, 2,
                "ON CONFLICT(k) DO UPDATE SET n = n + excluded.n")
    assert dict(conn.execute("SELECT k, n FROM t")) == {"a": 11 * 700, "b": 2 * 700}


def test_a_batch_larger_than_one_statement_is_stored_in_put_order(tmp_path):
    n = _CHUNKS[0] * 2 + 345
    store = Store(tmp_path / "e.db", clock=FakeClock(T0), batch_interval=0.01).open()
    events = [ev("log", f"line {i} é \u2028 \"q\"", ts=T0 + i, host=f"h{i % 7}",
                 data={"i": i, "nested": [i, None]}) for i in range(n)]
    for e in events:  # queued before the writer starts: one batch
        store.put(e)
    store.start()
    try:
        assert store.flush(10)
        assert store.stats()["batches"] == 1
        conn = sqlite3.connect(tmp_path / "e.db")
        got = conn.execute("SELECT id, ts, host, message, data FROM events ORDER BY seq")
        assert [(r[0], r[1], r[2], r[3]) for r in got] == [
            (e["id"], e["ts"], e["host"], e["message"]) for e in events]
        assert conn.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'line'"
                            ).fetchone()[0] == n
        conn.close()
        assert store.search(f"{n - 1}", limit=1)[0]["data"] == {"i": n - 1,
                                                                 "nested": [n - 1, None]}
    finally:
        store.stop()


@pytest.mark.parametrize("ts", [math.nan, math.inf, -math.inf, "soon"])
def test_a_timestamp_that_is_not_a_finite_number_is_refused_at_put(tmp_path, ts):
    with running_store(tmp_path / "e.db") as s:
        bad = ev("log", "x")
        bad["ts"] = ts
        with pytest.raises(ValueError, match="not an event"):
            s.put(bad)
        s.put(ev("log", "fine"))
        assert s.flush(5)
        assert s.stats()["rows"] == 1


def _alert(to, value, ts, aid="a1", frm="pending"):
    return ev("alert", f"cpu {to}", ts=ts, host="web-1", rule="high_cpu", alert_id=aid,
              severity="warning", data={"from": frm, "to": to, "value": value})


def test_episodes_continue_across_batches_and_a_restart(tmp_path):
    path = tmp_path / "e.db"
    with running_store(path) as s:
        s.put(_alert("firing", 91.0, T0, aid="a1"))
        s.put(_alert("firing", 95.0, T0 + 1, aid="a2"))
        assert s.flush(5)
        s.put(_alert("resolved", 10.0, T0 + 2, aid="a2", frm="firing"))
        assert s.flush(5)
    with running_store(path) as s:  # the open episode is picked up; ids do not collide
        s.put(_alert("firing", 99.0, T0 + 3, aid="a1", frm="firing"))
        s.put(ev("ack", "mine", ts=T0 + 4, alert_id="a1", data={"author": "bo"}))
        s.put(_alert("firing", 93.0, T0 + 5, aid="a2"))
        assert s.flush(5)
        eps = {(e["alert_id"], e["started_at"]): e for e in s.episodes()}
        assert len(eps) == 3 and len({e["id"] for e in eps.values()}) == 3
        a1 = eps[("a1", T0)]
        assert a1["peak"] == 99.0 and a1["last_value"] == 99.0 and a1["ended_at"] is None
        assert [a["author"] for a in a1["acks"]] == ["bo"]
        assert eps[("a2", T0 + 1)]["ended_at"] == T0 + 2
        assert eps[("a2", T0 + 1)]["last_value"] == 10.0
        assert eps[("a2", T0 + 5)]["ended_at"] is None
