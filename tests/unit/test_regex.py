"""core/regex.py: user regexes run on RE2, in linear time, with named refusals and caps."""

from __future__ import annotations

import re
import time

import pytest

from broker.store.search import MAX_QUERY_LEN, QueryError, compile_query
from core.matchers import Matcher
from core.regex import MAX_PATTERN_LEN, MAX_SUBJECT_LEN, compile_user


def test_catastrophic_pattern_runs_in_linear_time() -> None:
    rx = compile_user("(a+)+$")
    subject = "a" * 50_000 + "!"
    t0 = time.perf_counter()
    assert rx.fullmatch(subject) is None and rx.search(subject) is None
    assert rx.fullmatch(subject[:-1]) is not None
    took = time.perf_counter() - t0
    assert took < 0.5, took  # Python's re would need about 2**50000 steps


def test_the_same_answers_as_re_for_ordinary_patterns() -> None:
    for pattern, subject in [("web-[0-9]+", "web-12"), ("db.*", "db-a"), ("a|b", "c"),
                             (r"\d{2,3}", "1234"), ("(?i)ERROR", "error")]:
        assert bool(compile_user(pattern).fullmatch(subject)) == bool(
            re.fullmatch(pattern, subject))
        assert bool(compile_user(pattern).search(subject)) == bool(re.search(pattern, subject))


@pytest.mark.parametrize(("pattern", "named"), [
    (r"(a)\1", "back-reference \\1"), ("(?=a)", "look-ahead"), ("(?!a)", "negative look-ahead"),
    ("(?<=a)b", "look-behind"), ("(?<!a)b", "negative look-behind"), ("(?>a)", "atomic group"),
    ("(?P<x>a)(?P=x)", "named back-reference"), ("(", "missing )"),
    ("a{2000}", "invalid repetition size"),
])
def test_refusals_name_the_construct(pattern: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        compile_user(pattern, "in rule x")


def test_caps() -> None:
    with pytest.raises(ValueError, match=f"the limit is {MAX_PATTERN_LEN}"):
        compile_user("a" * (MAX_PATTERN_LEN + 1))
    rx = compile_user("a+")
    assert rx.fullmatch("a" * (MAX_SUBJECT_LEN + 1)) is None  # too long to match
    assert rx.search("b" * MAX_SUBJECT_LEN + "a") is None  # only the head is searched
    with pytest.raises(ValueError, match="the limit is"):
        Matcher.parse("host=" + "x" * 5000)
    with pytest.raises(QueryError, match=f"the limit is {MAX_QUERY_LEN}"):
        compile_query("x" * (MAX_QUERY_LEN + 1), 0.0)
