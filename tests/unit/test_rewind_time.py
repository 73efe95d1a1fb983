"""What an operator types to rewind: spans, times of day, dates, and the errors for the rest."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tui.rewind_time import ago, parse, when

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("text", "back"), [
    ("-2h", 7200), ("-90m", 5400), ("-1h30m", 5400), ("2h ago", 7200), ("90 min ago", 5400),
    ("-45s", 45), ("-2d", 172800), ("-1w", 604800), ("3 hours", 10800), ("now", 0),
    ("  -2H ", 7200),
])
def test_spans_back_from_now(text: str, back: float) -> None:
    assert parse(text, NOW) == NOW - back


@pytest.mark.parametrize(("text", "at"), [
    ("03:12", "2023-11-14 03:12:00"),  # earlier today
    ("22:13", "2023-11-14 22:13:00"),  # twenty seconds ago
    ("22:14", "2023-11-13 22:14:00"),  # not yet today: yesterday's
    ("03:12:30", "2023-11-14 03:12:30"),
    ("2023-11-13 03:12", "2023-11-13 03:12:00"),
    ("2023-11-14T22:00:05", "2023-11-14 22:00:05"),
    ("2023-11-10", "2023-11-10 00:00:00"),
])
def test_times_of_day_and_dates_are_local(text: str, at: str) -> None:
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(parse(text, NOW))) == at


@pytest.mark.parametrize(("text", "error"), [
    ("", "type a time"),
    ("-2x", "unknown unit 'x'"),
    ("-0m", "more than zero"),
    ("25:00", "hour 25 is past 23"),
    ("03:61", "minute 61 is past 59"),
    ("3:1", "HH:MM"),
    ("2023-13-01 03:00", "is not a date"),
    ("2023-02-30", "is not a date"),
    ("2023-11-15 01:00", "2h 46m in the future"),
    ("soon", "is not a time"),
    ("2023/11/14", "is not a time"),
])
def test_bad_text_says_what_is_wrong(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse(text, NOW)


def test_labels() -> None:
    assert when(NOW - 8040, NOW) == "19:59:20"
    assert when(NOW - 3 * 86400, NOW) == "2023-11-11 22:13:20"
    assert ago(NOW - 8040, NOW) == "2h 14m ago" and ago(NOW, NOW) == "now"
