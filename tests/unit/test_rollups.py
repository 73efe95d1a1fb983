"""Metric rollups: in-memory buckets, merging upserts, and history through the store."""

from __future__ import annotations

import math
import sqlite3

import pytest

from broker.store.rollups import Rollups
from broker.store.schema import migrate
from core.clock import FakeClock
from tests.unit.store_helpers import T0, ev, running_store

M0 = 1_699_999_980.0  # a minute boundary, 20 s before T0


@pytest.fixture
def conn():
    c = sqlite3.connect(":memory:", isolation_level=None)
    migrate(c)
    yield c
    c.close()


def test_minute_and_hour_buckets(conn):
    r = Rollups()
    for i, v in enumerate([10.0, 30.0, 20.0]):
        r.add("web-1", {"cpu.percent": v}, M0 + i)
    r.add("web-1", {"cpu.percent": 50.0}, M0 + 60)
    got = r.history(conn, "web-1", "cpu.percent", M0, M0 + 120)
    assert got == [{"ts": M0, "min": 10.0, "avg": 20.0, "max": 30.0, "count": 3},
                   {"ts": M0 + 60, "min": 50.0, "avg": 50.0, "max": 50.0, "count": 1}]
    (hour,) = r.history(conn, "web-1", "cpu.percent", M0, M0 + 120, step="1h")
    assert hour["count"] == 4 and hour["max"] == 50.0 and hour["avg"] == pytest.approx(27.5)


def test_series_are_separate(conn):
    r = Rollups()
    r.add("web-1", {"cpu.percent": 1.0, "mem.percent": 2.0}, M0)
    r.add("web-2", {"cpu.percent": 3.0}, M0)
    assert [p["max"] for p in r.history(conn, "web-2", "cpu.percent", M0, M0 + 60)] == [3.0]
    assert r.history(conn, "web-2", "mem.percent", M0, M0 + 60) == []


def test_closed_buckets_persist_and_late_samples_merge(conn):
    r = Rollups(grace=5)
    r.add("h", {"m": 4.0}, M0 + 1)
    assert r.take_closed(M0 + 64) == []  # inside the grace period
    rows = r.take_closed(M0 + 66)
    assert [row[:4] for row in rows] == [(60, "h", "m", int(M0))]
    Rollups.persist(conn, rows)
    r.add("h", {"m": 8.0}, M0 + 30)  # late: lands in a bucket already written
    assert r.history(conn, "h", "m", M0, M0 + 60) == [
        {"ts": M0, "min": 4.0, "avg": 6.0, "max": 8.0, "count": 2}]
    Rollups.persist(conn, r.take_closed(M0 + 120))
    assert r.history(conn, "h", "m", M0, M0 + 60)[0]["count"] == 2


def test_failed_write_puts_buckets_back(conn):
    r = Rollups(grace=0)
    r.add("h", {"m": 1.0}, M0)
    rows = r.take_closed(M0 + 60)
    r.add("h", {"m": 3.0}, M0 + 1)
    r.put_back(rows)
    assert r.history(conn, "h", "m", M0, M0 + 60)[0]["count"] == 2


def test_non_finite_values_are_counted_not_stored(conn):
    r = Rollups()
    r.add("h", {"m": math.nan, "n": math.inf, "ok": 1.0}, M0)
    assert r.rejected == 2
    assert r.history(conn, "h", "m", M0, M0 + 60) == []


def test_unknown_step(conn):
    with pytest.raises(ValueError, match="unknown step '5m'"):
        Rollups().history(conn, "h", "m", M0, M0 + 60, step="5m")


def test_store_persists_closed_buckets_with_the_next_batch(tmp_path):
    clock = FakeClock(T0)
    path = tmp_path / "e.db"
    with running_store(path, clock) as s:
        s.record_metrics("web-1", {"cpu.percent": 10.0}, T0)
        s.record_metrics("web-1", {"cpu.percent": 30.0}, T0 + 1)
        clock.advance(120)
        s.put(ev("log", "tick", ts=clock.time()))
        assert s.flush(5)
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT step, ts, min, max, count FROM rollups "
                                "ORDER BY step").fetchall()
        finally:
            conn.close()
        assert rows == [(60, int(M0), 10.0, 30.0, 2)]  # the hour is still open
        hist = s.history("web-1", "cpu.percent", T0 - 3600, T0 + 3600, step="1h")
        assert [(p["min"], p["max"]) for p in hist] == [(10.0, 30.0)]
    with running_store(path, clock) as s:  # stop wrote the open hour too
        assert s.history("web-1", "cpu.percent", T0 - 3600, T0 + 3600, "1h")[0]["count"] == 2


def test_rollups_age_out_with_retention(tmp_path):
    clock = FakeClock(T0)
    with running_store(tmp_path / "e.db", clock, rollup_1m_retention_s=3600) as s:
        s.record_metrics("h", {"m": 1.0}, T0 - 7200)
        s.record_metrics("h", {"m": 2.0}, T0 - 60)
        s.put(ev())
        assert s.flush(5)
        s.enforce_retention()
        assert [p["max"] for p in s.history("h", "m", T0 - 9000, T0)] == [2.0]
        assert len(s.history("h", "m", T0 - 9000, T0, "1h")) == 2


def test_hours_are_folded_from_closed_minutes_without_double_counting(conn):
    r = Rollups(grace=0)
    h0 = int(M0 // 3600) * 3600
    r.add("h", {"m": 2.0}, h0 + 10)
    r.add("h", {"m": 6.0}, h0 + 70)
    Rollups.persist(conn, r.take_closed(h0 + 130))  # both minutes close, hour stays open
    (hour,) = r.history(conn, "h", "m", h0, h0 + 3600, step="1h")
    assert hour["count"] == 2 and hour["avg"] == 4.0
    r.add("h", {"m": 10.0}, h0 + 200)  # an open minute counts in the hour view too
    assert r.history(conn, "h", "m", h0, h0 + 3600, step="1h")[0]["count"] == 3
    rows = r.take_closed(h0 + 3600)
    assert sorted(row[:4] for row in rows) == [(60, "h", "m", h0 + 180), (3600, "h", "m", h0)]
    Rollups.persist(conn, rows)
    (hour,) = r.history(conn, "h", "m", h0, h0 + 3600, step="1h")
    assert (hour["count"], hour["min"], hour["max"]) == (3, 2.0, 10.0)
    assert r.pending() == 0


def test_columns_fast_and_slow_paths_count_each_series(conn):
    r = Rollups()
    r.add("h", {"a": 1.0, "b": 10.0}, M0)
    r.add("h", {"a": 3.0, "b": 5.0}, M0 + 1)   # fast path: same names, same order
    r.add("h", {"b": 7.0, "c": 2.0}, M0 + 2)   # slow path: a absent, c new
    r.add("h", {"a": 2.0, "b": 6.0, "c": 4.0}, M0 + 3)  # the new row shape: fast again
    r.add("h", {"a": 0.5, "b": 9.0, "c": 3.0}, M0 + 4)
    got = {m: r.history(conn, "h", m, M0, M0 + 60)[0] for m in "abc"}
    assert [got[m]["count"] for m in "abc"] == [4, 5, 3]
    assert (got["a"]["min"], got["a"]["max"], got["a"]["avg"]) == (0.5, 3.0, 6.5 / 4)
    assert (got["b"]["min"], got["b"]["max"]) == (5.0, 10.0)
    assert (got["c"]["min"], got["c"]["max"], got["c"]["avg"]) == (2.0, 4.0, 3.0)


def test_open_series_cap_refuses_new_series_only(conn):
    r = Rollups(max_open=3)
    r.add("h", {"a": 1.0, "b": 1.0}, M0)
    r.add("h", {"a": 2.0, "b": 2.0, "c": 2.0, "d": 2.0}, M0 + 1)
    assert r.pending() == 3 and r.rejected == 1
    assert r.history(conn, "h", "d", M0, M0 + 60) == []
    assert r.history(conn, "h", "a", M0, M0 + 60)[0]["count"] == 2


def test_written_minutes_and_hours_are_the_samples_aggregates(conn):
    """A fleet over three minutes across an hour boundary, written as the store's writer
    does (closed buckets taken every few seconds of a fake clock, persisted): every minute
    and hour row in SQLite is exactly the min, max, count and (to rounding) sum of the
    samples sent, whatever each bucket's fold stagger and however hours were merged
    (a new hour bucket, later minutes into it, a host missing a series now and then)."""
    import random

    rng = random.Random(4)
    clock = FakeClock(int(M0 // 3600) * 3600 + 3600 - 120.0)  # two minutes before an hour
    r = Rollups(grace=1.0)
    names = [f"m{i}" for i in range(5)]
    sent: dict[tuple[int, str, str, int], list[float]] = {}
    for s in range(185):
        now = clock.time()
        for h in range(30):
            metrics = {n: rng.uniform(-100, 100) for i, n in enumerate(names)
                       if not (h % 7 == 0 and i == 2 and s % 4 == 0)}
            r.add(f"h{h}", metrics, now)
            for n, v in metrics.items():
                for step in (60, 3600):
                    sent.setdefault((step, f"h{h}", n, int(now // step) * step), []).append(v)
        if s % 5 == 0:
            Rollups.persist(conn, r.take_closed_buckets(now).rows())
        clock.advance(1.0)
    Rollups.persist(conn, r.take_closed_buckets(clock.time(), everything=True).rows())
    got = {(st, h, m, ts): (mn, mx, sm, n) for st, h, m, ts, mn, mx, sm, n in conn.execute(
        "SELECT step, host, metric, ts, min, max, sum, count FROM rollups")}
    assert set(got) == set(sent)
    assert {k[0] for k in got} == {60, 3600} and len({k[3] for k in got if k[0] == 3600}) == 2
    for key, vals in sent.items():
        mn, mx, sm, n = got[key]
        assert (mn, mx, n) == (min(vals), max(vals), len(vals)), key
        assert sm == pytest.approx(math.fsum(vals), abs=1e-9), key
