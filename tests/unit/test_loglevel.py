"""Level detection and multi-line assembly of log lines: pure functions, no files."""

from __future__ import annotations

import pytest

from agents.loglevel import Assembler, detect_level, is_continuation, syslog_level


def test_assembler_caps_event_size():
    asm = Assembler(max_lines=3)
    out = []
    for line in ["ERROR x", "  1", "  2", "  3", "  4"]:
        out += asm.feed(line, 0.0)
    assert [e.message for e in out] == ["ERROR x\n  1\n  2"]
    rest = asm.flush()
    assert rest is not None and rest.level == "error" and rest.message == "  3\n  4"


def test_bare_traceback_without_level_is_an_error():
    asm = Assembler()
    out = []
    for line in ["worker crashed:", "Traceback (most recent call last):", "  File x",
                 "KeyError: 'sku'"]:
        out += asm.feed(line, 0.0)
    assert out == []
    out.append(asm.flush())
    assert [(e.level, len(e.lines)) for e in out] == [("error", 4)]


# ---------------------------------------------------------------- levels


@pytest.mark.parametrize("line, level", [
    ("2024-05-01 12:00:00,123 ERROR db: connection lost", "error"),
    ("E ERR something", "error"),
    ("[error] 1234#0: *5 connect() failed", "error"),
    ("FATAL: the database system is shutting down", "critical"),
    ("2024-05-01 CRITICAL disk full", "critical"),
    ("level=warn msg=\"slow\"", "warning"),
    ("WARNING: low memory", "warning"),
    ('{"level":"debug","msg":"x"}', "debug"),
    ("DEBUG cache hit", "debug"),
    ("INFO all good", "info"),
    ("INFO handled the error gracefully", "info"),  # earliest level word wins
    ("<3>kernel: I/O error", "error"),
    ("<12>user: warning-level syslog", "warning"),  # facility 1, severity 4
    ("<14>hello", "info"),
    ("<15>hello", "debug"),
    ("<0>panic", "critical"),
    ("Traceback (most recent call last):", "error"),
    ("panic: runtime error: index out of range", "critical"),
    ("nothing to see here", "info"),
    ("errors=0 warnings=0", "info"),  # plural forms are not levels
    ("ALERT: raid degraded", "critical"),
    ("an alert was sent", "info"),
])
def test_level_detection(line, level):
    assert detect_level(line) == level


def test_syslog_level_table():
    assert [syslog_level(p) for p in range(8)] == [
        "critical", "critical", "critical", "error", "warning", "info", "info", "debug"]


@pytest.mark.parametrize("line, cont", [
    ("  File \"x.py\", line 1", True), ("\tat a.b.C(C.java:1)", True),
    ("Caused by: java.io.IOException", True), ("at Object.<anonymous> (x.js:1:1)", True),
    ("Traceback (most recent call last):", True), ("INFO x", False), ("", False),
    ("   ", False),
])
def test_continuation_lines(line, cont):
    assert is_continuation(line) is cont
