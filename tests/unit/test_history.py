"""The flat per-host history ring (broker/ingest/history.py)."""

from __future__ import annotations

from broker.ingest.history import History
from broker.ingest.state import drawn


def test_fast_path_keeps_the_last_rows_oldest_first() -> None:
    h = History(5)
    for i in range(12):
        h.add({"cpu": float(i), "mem": float(100 + i)})
    assert h.series("cpu") == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert h.series("mem") == [107.0, 108.0, 109.0, 110.0, 111.0]
    assert h.series("nope") == [] and list(h) == ["cpu", "mem"]
    assert h.nbytes() == 5 * 2 * 8 + 5 * 8  # the values and a time a row


def test_partial_fill_new_names_and_absent_series() -> None:
    h = History(4)
    h.add({"cpu": 1.0})
    h.add({"cpu": 2.0, "disk./": 50.0})  # a new column: earlier rows hold NaN for it
    h.add({"disk./": 51.0})  # cpu absent in this row
    h.add({"disk./": 52.0, "cpu": 4.0})  # same names, other order
    assert h.series("cpu") == [1.0, 2.0, 4.0]
    assert h.series("disk./") == [50.0, 51.0, 52.0]
    h.add({"cpu": 5.0, "disk./": 53.0})
    assert h.series("cpu") == [2.0, 4.0, 5.0]  # the first row has been overwritten
    assert "disk./" in h and len(h) == 2


def test_only_kept_series_get_a_column() -> None:
    h = History(3, keep=lambda name: name.startswith("cpu"))
    h.add({"cpu.percent": 1.0, "uptime": 9.0, "cpu.user": 0.5})
    h.add({"cpu.percent": 2.0, "uptime": 10.0, "cpu.user": 0.7})  # fast path
    h.add({"uptime": 11.0})  # nothing kept: no row
    h.add({"cpu.percent": 3.0, "uptime": 12.0, "cpu.user": 0.9})
    assert list(h) == ["cpu.percent", "cpu.user"] and "uptime" not in h
    assert h.series("cpu.percent") == [1.0, 2.0, 3.0]
    assert h.series("cpu.user") == [0.5, 0.7, 0.9]
    assert h.nbytes() == 3 * 2 * 8 + 3 * 8


def test_tail_gives_times_and_values_oldest_first() -> None:
    h = History(3, keep=lambda name: name != "uptime")
    assert h.tail("cpu") == []
    for i in range(5):
        h.add({"cpu": float(i), "uptime": 1.0}, ts=100.0 + i)
    h.add({"mem": 7.0}, ts=105.0)  # cpu absent from this row
    assert h.tail("cpu") == [(103.0, 3.0), (104.0, 4.0)]
    assert h.tail("cpu", since=104.0) == [(104.0, 4.0)]
    assert h.tail("mem") == [(105.0, 7.0)]
    assert h.tail("uptime") == [] and h.tail("nope") == []


def test_a_shape_seen_before_a_new_column_still_takes_the_slow_path() -> None:
    """A mount that comes and goes: the frame shape of before the new column must not take
    the fast path (it would look the new column up in the frame: KeyError, seen live)."""
    h = History(10, drawn)
    h.add({"cpu.percent": 1.0, "disk./a.percent": 1.0}, 1.0)
    h.add({"cpu.percent": 1.0, "disk./b.percent": 2.0}, 2.0)
    h.add({"cpu.percent": 2.0, "disk./a.percent": 3.0}, 3.0)
    assert h.series("disk./a.percent") == [1.0, 3.0]
    assert h.series("disk./b.percent") == [2.0]
    assert h.series("cpu.percent") == [1.0, 1.0, 2.0]
