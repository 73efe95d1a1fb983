"""Log lines go out at once unless a continuation can follow; files are followed by inotify."""

from __future__ import annotations

import threading
import time

import pytest

from agents.loglevel import Assembler, can_start_multiline
from agents.logs import LogFollower
from agents.watch import ChangeWatcher
from tests.procs import wait_for
from tests.unit.log_helpers import settle, write


@pytest.mark.parametrize(("line", "header"), [
    ("2024-05-01 ERROR database down", False),
    ("INFO started in 3s", False),
    ("Error: connection refused", False),
    ('Exception in thread "main" java.lang.IllegalStateException: x', True),
    ("java.lang.NullPointerException: boom", True),
    ("panic: runtime error: index out of range", True),
    ("request failed:", True),
])
def test_which_lines_can_start_a_multi_line_event(line: str, header: bool) -> None:
    assert can_start_multiline(line) is header


def test_plain_line_goes_out_in_the_same_poll(tmp_path, follow, sink):  # type: ignore[no-untyped-def]
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log)
    write(log, "ERROR database down\n")
    f.poll()  # no clock advance: nothing waits for flush_after
    assert sink.messages == ["ERROR database down"]


def test_a_header_waits_for_its_continuation(tmp_path, follow, sink, clock):  # type: ignore[no-untyped-def]
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log)
    write(log, "java.lang.IllegalStateException: bad\n")
    f.poll()
    assert sink.messages == []  # a trace may follow in the next write
    write(log, "\tat com.x.Y.z(Y.java:10)\n")
    f.poll()
    assert sink.messages == []  # inside an indented block: more may come
    settle(f, clock)
    assert sink.messages == ["java.lang.IllegalStateException: bad\n\tat com.x.Y.z(Y.java:10)"]


def test_eager_off_keeps_the_old_hold(tmp_path, follow, sink, clock):  # type: ignore[no-untyped-def]
    log = tmp_path / "app.log"
    write(log, "")
    f = follow(log, eager=False)
    write(log, "ERROR database down\n")
    f.poll()
    assert sink.messages == []
    settle(f, clock)
    assert sink.messages == ["ERROR database down"]


def test_assembler_may_continue_ends_with_the_python_exception_line() -> None:
    a = Assembler()
    a.feed("Traceback (most recent call last):", 0.0)
    assert a.may_continue()
    a.feed('  File "x.py", line 1, in <module>', 0.0)
    assert a.may_continue()
    a.feed("ValueError: boom", 0.0)
    assert not a.may_continue()


@pytest.mark.serial  # a latency bound
def test_inotify_wakes_the_follower_well_before_its_poll_interval(tmp_path) -> None:
    log = tmp_path / "app.log"
    write(log, "")
    got: list[float] = []
    f = LogFollower([str(log)], lambda *a: got.append(time.monotonic()))
    stop = threading.Event()
    t = threading.Thread(target=f.run, args=(stop,), kwargs={"interval": 5.0}, daemon=True)
    t.start()
    try:
        wait_for(lambda: f.watch_mode, what="the follower to start")
        if f.watch_mode != "inotify":
            pytest.skip("inotify is not available here")
        write(log, "INFO first\n")
        wait_for(lambda: got, timeout=10.0, what="the first line")  # a poll has run
        sent = time.monotonic()
        write(log, "ERROR now\n")
        wait_for(lambda: len(got) == 2, timeout=2.0, what="the second line")
        assert got[1] - sent < 1.0  # the poll interval is 5 s: only inotify explains this
    finally:
        stop.set()
        write(log, "INFO wake up\n")  # the watcher returns at once, the loop sees stop
        t.join(10)


def test_watcher_polls_when_inotify_is_off(tmp_path) -> None:
    w = ChangeWatcher([str(tmp_path / "x.log")], use_inotify=False)
    assert w.mode == "poll"
    t0 = time.monotonic()
    assert w.wait(0.05) is False
    assert time.monotonic() - t0 >= 0.04
    w.close()
