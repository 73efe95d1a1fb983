"""The log follower's per-host rate limit, against real files; time from a FakeClock."""

from __future__ import annotations

from tests.unit.log_helpers import TRACEBACK, write


def test_rate_limit_drops_and_reports_a_summary(tmp_path, follow, sink, clock):
    log = tmp_path / "flood.log"
    write(log, "")
    f = follow(log, multiline=False, rate_limit=10)
    write(log, "".join(f"line {i}\n" for i in range(25)))
    f.poll()
    assert sink.messages == [f"line {i}" for i in range(10)]
    assert f.stats["dropped"] == 15
    sink.events.clear()
    clock.advance(0.5)
    f.poll()
    assert sink.events == []  # the window has not passed yet
    clock.advance(0.5)
    f.poll()
    assert sink.events == [(str(log), "warning",
                            f"dropped 15 lines from {log} (rate limit 10/s)", clock.time())]
    # tokens came back with time
    write(log, "after the flood\n")
    f.poll()
    assert sink.messages[-1] == "after the flood"
    clock.advance(5)
    f.poll()
    assert len(sink.events) == 2  # no second summary


def test_rate_limit_is_shared_by_all_files_and_summarised_per_source(tmp_path, follow, sink,
                                                                     clock):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    write(a, "")
    write(b, "")
    f = follow(tmp_path / "*.log", multiline=False, rate_limit=5)
    write(a, "a\n" * 5)
    write(b, "b\n" * 3)
    f.poll()
    clock.advance(1.0)
    f.poll()
    summaries = [m for _, lvl, m, _ in sink.events if lvl == "warning"]
    assert summaries == [f"dropped 3 lines from {b} (rate limit 5/s)"]


def test_dropped_traceback_counts_its_lines(tmp_path, follow, sink, clock):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log, rate_limit=1)
    write(log, "INFO first\n" + TRACEBACK)
    f.poll()
    clock.advance(1.0)
    write(log, "INFO last\n")
    f.poll()
    assert sink.messages == ["INFO first", "INFO last",
                             f"dropped 7 lines from {log} (rate limit 1/s)"]
