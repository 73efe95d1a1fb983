"""The flat per-host history ring (broker/ingest/history.py)."""

from __future__ import annotations

import math
import random
import struct

from agents.simulate import FleetSimulator
from broker.ingest.history import FLT_MAX, History
from broker.ingest.state import HISTORY_LEN, State, drawn
from tui.format import chart, sparkline


def test_fast_path_keeps_the_last_rows_oldest_first() -> None:
    h = History(5)
    for i in range(12):
        h.add({"cpu": float(i), "mem": float(100 + i)})
    assert h.series("cpu") == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert h.series("mem") == [107.0, 108.0, 109.0, 110.0, 111.0]
    assert h.series("nope") == [] and list(h) == ["cpu", "mem"]
    assert h.nbytes() == 5 * 2 * 4 + 5 * 8  # the values (float32) and a time (double) a row


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
    h.add({"cpu.percent": 2.0, "uptime": 10.0, "cpu.user": 0.75})  # fast path
    h.add({"uptime": 11.0})  # nothing kept: no row
    h.add({"cpu.percent": 3.0, "uptime": 12.0, "cpu.user": 0.875})
    assert list(h) == ["cpu.percent", "cpu.user"] and "uptime" not in h
    assert h.series("cpu.percent") == [1.0, 2.0, 3.0]
    assert h.series("cpu.user") == [0.5, 0.75, 0.875]
    assert h.nbytes() == 3 * 2 * 4 + 3 * 8


def test_one_kept_series_takes_the_fast_path_too() -> None:
    h = History(4, keep=lambda name: name == "load.1")
    for i in range(6):  # the frames after the first take the fast path (one column)
        h.add({"uptime": 9.0 + i, "load.1": 0.25 * i, "cpu.user": 1.0})
    assert list(h) == ["load.1"] and h.series("load.1") == [0.5, 0.75, 1.0, 1.25]


def test_a_value_past_float32_on_the_fast_path_reads_as_its_largest() -> None:
    h = History(3)
    h.add({"a": 1.0, "b": 2.0})
    h.add({"a": 1e39, "b": 3.0})  # the fast path (same names): packed in place, or not
    h.add({"a": -1e39, "b": 4.0})
    assert h.series("a") == [1.0, FLT_MAX, -FLT_MAX] and h.series("b") == [2.0, 3.0, 4.0]


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


def f32(x: float) -> float:
    """``x`` as the nearest float32 reads back (what the ring keeps)."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def simulated(hosts: int = 50, seconds: int = 150) -> list[tuple[str, list[dict[str, float]]]]:
    t0 = 1_700_000_000.0
    sim = FleetSimulator(hosts, seed=11, start_ts=t0)
    frames: dict[str, list[dict[str, float]]] = {}
    for s in range(seconds):
        for host, metrics in sim.sample(t0 + s):
            frames.setdefault(host, []).append(metrics)
    return list(frames.items())


def test_values_come_back_as_float32_within_its_precision() -> None:
    """The round trip: every value within 2**-24 of what was sent (relative), exactly the
    float32 nearest it; integers to 2**24 and binary fractions exact; past float32's range
    the largest float32, never infinity; the row times are doubles (exact)."""
    rng = random.Random(5)
    h = History(200, keep=lambda name: True)
    sent: dict[str, list[float]] = {"a": [], "b": [], "c": [], "n": []}
    times = []
    for i in range(300):
        row = {"a": rng.uniform(0, 100), "b": 10 ** rng.uniform(-12, 30) * rng.choice((1, -1)),
               "c": float(rng.randrange(2**20)) + rng.choice((0.0, 0.5, 0.25)),
               "n": rng.choice((0.0, 1e39, -1e300, 3e38))}
        ts = 1_700_000_000.123456 + i * 1.000001
        h.add(row, ts)
        times.append(ts)
        for k, v in row.items():
            sent[k].append(v)
    for name in ("a", "b"):
        got, want = h.series(name), sent[name][-200:]
        assert got == [f32(v) for v in want]
        assert all(abs(g - w) <= abs(w) * 2**-24 for g, w in zip(got, want, strict=True))
    assert h.series("c") == sent["c"][-200:]  # exact
    assert h.series("n") == [0.0 if v == 0 else FLT_MAX if v > FLT_MAX else
                             -FLT_MAX if v < -FLT_MAX else f32(v) for v in sent["n"][-200:]]
    assert all(math.isfinite(v) for _, v in h.tail("n"))
    tail = h.tail("a", since=times[-50])
    assert [t for t, _ in tail] == times[-50:]
    # a chart's live samples read as the shortest decimal that stores as the same float32
    assert [f32(v) for _, v in tail] == [f32(v) for v in sent["a"][-50:]]
    assert all(len(repr(v).replace(".", "").lstrip("0")) <= 10 for _, v in tail)


def test_a_charts_live_samples_read_back_as_sent() -> None:
    """12.3 stored as a float32 is 12.300000190734863; ``tail`` reads it as 12.3, and
    values that need 8 or 9 digits to be told apart keep them."""
    h = History(10, keep=lambda name: True)
    sent = [12.3, 0.1, 99.99, 1234.5678, 16777216.0, 0.33333334, 3.0000002, 1e-7]
    for i, v in enumerate(sent):
        h.add({"a": v}, 100.0 + i)
    got = [v for _, v in h.tail("a")]
    assert got[:5] == [12.3, 0.1, 99.99, 1234.5677, 16777216.0]  # 1234.5678: 1234.5677490234375
    assert got[5:] == [0.33333334, 3.0000002, 1e-7]
    assert h.series("a")[0] == f32(12.3) != 12.3  # the sparklines' history stays raw


def test_what_is_drawn_from_the_ring_is_drawn_the_same_as_from_the_values_sent() -> None:
    """Below display precision: the simulated fleet's history, through the broker's state,
    draws the same as the doubles that were sent, the way the console draws it (at several
    widths): the host detail's sparklines (0..100 for a percentage, 0..max otherwise), the
    gauges' charts (0..100) and the network sparkline (every rx series summed, scaled
    min..max: the one auto-scaled drawing)."""
    state = State(max_hosts=100)
    hosts = simulated()
    for host, frames in hosts:
        for seq, metrics in enumerate(frames):
            hs, _ = state.touch({"host": host, "agent": host, "boot": "b", "seq": seq,
                                 "ts": 1_700_000_000.0 + seq})
            state.apply_metrics(hs, metrics, None)
    compared = differ = 0
    for host, frames in hosts:
        record = state.hosts[host].to_dict(history=True)
        assert record["history"], host
        for name, got in record["history"].items():
            want = [m[name] for m in frames if name in m][-HISTORY_LEN:]
            assert got == [f32(v) for v in want]
            differ += got != want
            hi = 100.0 if name.endswith("percent") else None
            for width in (8, 20, 42, 120):
                assert sparkline(got, width, 0.0, hi) == sparkline(want, width, 0.0, hi)
                assert chart(got, width, 2, hi=hi) == chart(want, width, 2, hi=hi)
            compared += 1
        rx = [n for n in record["history"] if n.endswith(".rx_bps")]
        assert rx
        got_rx = [sum(v) for v in zip(*(record["history"][n] for n in rx), strict=True)]
        want_rx = [sum(v) for v in zip(*([m[n] for m in frames][-HISTORY_LEN:] for n in rx),
                                       strict=True)]
        for width in (8, 20, 42, 120):
            assert sparkline(got_rx, width, lo=None) == sparkline(want_rx, width, lo=None)
    assert compared >= 50 * 9  # 9 drawn series a simulated host
    assert differ > compared // 2  # most series are not float32-exact: a real comparison
