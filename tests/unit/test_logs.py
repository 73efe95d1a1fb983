"""The log follower against real files in tmp_path; time from a FakeClock, no sleeps."""

from __future__ import annotations

import os
import threading

import pytest

from agents.logs import LogFollower
from tests.unit.log_helpers import TRACEBACK, settle, write

# ---------------------------------------------------------------- following


def test_starts_at_end_of_existing_file_and_follows_appends(tmp_path, follow, sink, clock):
    log = tmp_path / "app.log"
    write(log, "old line 1\nold line 2\n")
    f = follow(log, multiline=False)
    f.poll()
    assert sink.messages == []
    write(log, "new 1\nnew 2\n")
    f.poll()
    assert sink.take() == ["new 1", "new 2"]
    write(log, "new 3\n")
    f.poll()
    assert sink.events == [(str(log), "info", "new 3", clock.time())]


def test_from_start_reads_existing_content(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "a\nb\n")
    f = follow(log, multiline=False, from_start=True)
    f.poll()
    assert sink.messages == ["a", "b"]


def test_starting_mid_line_skips_the_rest_of_that_line(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "complete\nhalf a li")
    f = follow(log, multiline=False)
    write(log, "ne\nnext\n")
    f.poll()
    assert sink.messages == ["next"]


def test_partial_line_waits_for_newline(tmp_path, follow, sink, clock):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log, multiline=False)
    write(log, "ERROR half")
    f.poll()
    clock.advance(10)
    f.poll()
    assert sink.events == []
    write(log, " done\r\n")
    f.poll()
    assert sink.events == [(str(log), "error", "ERROR half done", clock.time())]


def test_rotation_by_rename_finishes_old_file_then_follows_new(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log, multiline=False)
    write(log, "before rotation\n")
    f.poll()
    assert sink.take() == ["before rotation"]
    write(log, "late write to old file\nno newline at the end")
    os.rename(log, tmp_path / "app.log.1")
    write(log, "first line of new file\n")
    f.poll()
    assert sink.take() == ["late write to old file", "no newline at the end",
                           "first line of new file"]
    write(log, "second\n")
    f.poll()
    assert sink.take() == ["second"]
    assert f.sources == [str(log)]


def test_rotation_then_new_file_appears_on_a_later_poll(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log, multiline=False)
    write(log, "x\n")
    os.rename(log, tmp_path / "app.log.1")
    f.poll()
    assert sink.take() == ["x"]
    assert f.sources == []
    write(log, "new file\n")
    f.poll()
    assert sink.take() == ["new file"]


def test_glob_matching_rotated_files_does_not_reread_them(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(tmp_path / "app.log*", multiline=False)
    write(log, "one\ntwo\n")
    f.poll()
    assert sink.take() == ["one", "two"]
    os.rename(log, tmp_path / "app.log.1")
    write(log, "three\n")
    f.poll()
    assert sink.take() == ["three"]
    write(tmp_path / "app.log.1", "straggler\n")
    f.poll()
    assert sink.take() == ["straggler"]
    assert sorted(f.sources) == [str(log), str(tmp_path / "app.log.1")]


def test_truncation_reopens_at_zero(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log, multiline=False)
    write(log, "a long line before copytruncate\n")
    f.poll()
    assert sink.take() == ["a long line before copytruncate"]
    write(log, "", mode="w")  # copytruncate
    write(log, "after\n")
    f.poll()
    assert sink.take() == ["after"]


def test_file_appearing_later_is_read_from_its_start(tmp_path, follow, sink):
    log = tmp_path / "later.log"
    f = follow(log, multiline=False)
    f.poll()
    assert f.sources == []
    write(log, "hello\n")
    f.poll()
    assert sink.take() == ["hello"]


def test_glob_picks_up_new_files(tmp_path, follow, sink):
    (tmp_path / "logs").mkdir()
    write(tmp_path / "logs" / "a.log", "")
    f = follow(tmp_path / "logs" / "*.log", multiline=False)
    write(tmp_path / "logs" / "b.log", "from b\n")
    write(tmp_path / "logs" / "a.log", "from a\n")
    write(tmp_path / "logs" / "c.txt", "not matched\n")
    f.poll()
    assert sorted(e[:3] for e in sink.events) == [
        (str(tmp_path / "logs" / "a.log"), "info", "from a"),
        (str(tmp_path / "logs" / "b.log"), "info", "from b"),
    ]


def test_vanishing_file_is_tolerated(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log, multiline=False)
    write(log, "last words\n")
    os.remove(log)
    f.poll()
    f.poll()
    assert sink.take() == ["last words"]
    assert f.sources == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_unreadable_and_odd_paths_do_not_break_polling(tmp_path, follow, sink):
    (tmp_path / "adir.log").mkdir()
    os.mkfifo(tmp_path / "fifo.log")
    good = tmp_path / "good.log"
    write(good, "")
    f = follow(tmp_path / "*.log", tmp_path / "missing" / "x.log", multiline=False)
    write(good, "ok\n")
    f.poll()
    assert sink.messages == ["ok"]
    assert f.sources == [str(good)]


def test_close_emits_pending_and_closes_files(tmp_path, clock, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = LogFollower([str(log)], sink, clock=clock)
    write(log, "ERROR pending\n  continuation\nno newline")
    f.poll()
    f.close()
    f.close()
    assert sink.messages == ["ERROR pending\n  continuation", "no newline"]
    with pytest.raises(RuntimeError):
        f.poll()


def test_run_polls_until_stopped_and_closes(tmp_path, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = LogFollower([str(log)], sink, multiline=False)
    stop = threading.Event()
    write(log, "via run\n")
    original = f.poll

    def poll_then_stop():
        original()
        stop.set()

    f.poll = poll_then_stop  # type: ignore[method-assign]
    f.run(stop, interval=0.01)
    assert sink.messages == ["via run"]
    assert f.sources == []


# ---------------------------------------------------------------- multiline




def test_python_traceback_is_one_event_with_first_line_level(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log)
    write(log, TRACEBACK + "2024-05-01 12:00:01 INFO next request\n")
    f.poll()
    # the trace is one event; the plain line after it can start nothing, so it goes at once
    assert [(lvl, m) for _, lvl, m, _ in sink.events] == [
        ("error", TRACEBACK.rstrip("\n")), ("info", "2024-05-01 12:00:01 INFO next request")]


def test_java_stack_trace_with_caused_by(tmp_path, follow, sink, clock):
    trace = ("12:00:00.001 WARN  [main] c.e.Service - call failed\n"
             "java.lang.IllegalStateException: bad\n"
             "\tat com.example.Service.run(Service.java:42)\n"
             "\tat com.example.Main.main(Main.java:7)\n"
             "Caused by: java.io.IOException: disk\n"
             "\t... 2 more\n")
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log)
    write(log, "12:00:00.000 WARN  [main] c.e.Service - call failed\n"
               "\tat com.example.Service.run(Service.java:42)\n"
               "\tat com.example.Main.main(Main.java:7)\n"
               "Caused by: java.io.IOException: disk\n"
               "\t... 2 more\n")
    f.poll()
    assert sink.events == []  # pending until the next event or the idle timeout
    clock.advance(0.1)
    f.poll()
    assert sink.events == []
    settle(f, clock)
    assert len(sink.events) == 1
    assert sink.events[0][1] == "warning"
    assert sink.events[0][2].count("\n") == 4
    assert trace  # the shape we model


def test_traceback_split_over_two_polls_stays_one_event(tmp_path, follow, sink, clock):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log)
    head, tail = TRACEBACK.split("  File \"app.py\", line 5")
    write(log, head)
    f.poll()
    clock.advance(0.1)
    write(log, "  File \"app.py\", line 5" + tail)
    f.poll()
    settle(f, clock)
    assert sink.messages == [TRACEBACK.rstrip("\n")]


CHAINED = """\
ERROR job 7 failed
Traceback (most recent call last):
  File "job.py", line 3, in run
    int("x")
ValueError: invalid literal for int() with base 10: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "job.py", line 5, in run
    raise RuntimeError("job failed")
RuntimeError: job failed"""


def test_chained_python_traceback_with_blank_lines_is_one_event(tmp_path, follow, sink, clock):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log)
    write(log, CHAINED + "\n\nINFO next\n")
    f.poll()
    assert [(lvl, m) for _, lvl, m, _ in sink.events] == [("error", CHAINED), ("info", "INFO next")]


def test_multiline_off_gives_one_event_per_line(tmp_path, follow, sink):
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log, multiline=False)
    write(log, TRACEBACK)
    f.poll()
    assert len(sink.events) == TRACEBACK.count("\n")
