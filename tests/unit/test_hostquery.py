"""The console's host filter language (core/hostquery.py): good input, bad input."""

from __future__ import annotations

import pytest

from core.hostquery import QueryError, parse
from core.query_tokens import tokens

HOSTS = {
    "web-1": ("up", {"team": "web", "zone": "a"}, {"cpu": 85.0, "mem": 40.0, "rx": 3e6}),
    "web-2": ("up", {"team": "web", "zone": "b"}, {"cpu": 20.0, "mem": 95.0, "rx": 1e3}),
    "db-1": ("up", {"team": "db"}, {"cpu": 91.0, "mem": 90.0, "disk": 96.0, "alerts": 2.0}),
    "db-10": ("down", {"team": "db"}, {"cpu": None, "mem": 50.0, "age": 600.0}),
    "cache-1": ("stopped", {}, {"cpu": 5.0, "load": 0.5}),
}


def hits(text: str) -> list[str]:
    q = parse(text)
    return sorted(name for name, (status, labels, figs) in HOSTS.items()
                  if q.matches(name, status, labels, figs.get))


@pytest.mark.parametrize("text, expected", [
    ("", ["cache-1", "db-1", "db-10", "web-1", "web-2"]),
    ("web", ["web-1", "web-2"]),
    ("-web", ["cache-1", "db-1", "db-10"]),
    ("host:db-1", ["db-1"]),  # exact: not db-10
    ("host:db-*", ["db-1", "db-10"]),
    ("host:web-1,cache-1", ["cache-1", "web-1"]),
    ("-host:web-?", ["cache-1", "db-1", "db-10"]),
    ("label:team=db", ["db-1", "db-10"]),
    ("label:team!=db", ["cache-1", "web-1", "web-2"]),
    ("label:zone=~a|b", ["web-1", "web-2"]),
    ('label:"zone=~a|b"', ["web-1", "web-2"]),  # quote the whole value for spaces
    ("label:zone", ["web-1", "web-2"]),
    ("-label:zone", ["cache-1", "db-1", "db-10"]),
    ("status:down,stopped", ["cache-1", "db-10"]),
    ("cpu>80", ["db-1", "web-1"]),  # unknown cpu (db-10) never matches
    ("cpu>=91", ["db-1"]),
    ("mem<=50 cpu<90", ["web-1"]),
    ("cpu!=5", ["db-1", "web-1", "web-2"]),
    ("disk>95%", ["db-1"]),
    ("rx>2.5M", ["web-1"]),
    ("rx>=1k", ["web-1", "web-2"]),
    ("age>5m", ["db-10"]),
    ("alerts>0", ["db-1"]),
    ("load=0.5", ["cache-1"]),
    ("CPU>80", ["db-1", "web-1"]),
    ("label:team=db cpu>80 mem>=90 host:db-*", ["db-1"]),
    ('"eb-"', ["web-1", "web-2"]),
])
def test_filters_select_the_right_hosts(text: str, expected: list[str]) -> None:
    assert hits(text) == expected


def test_the_query_says_which_figures_it_compares() -> None:
    assert parse("web label:team=db cpu>80 mem>=90").figures == {"cpu", "mem"}
    assert not parse("web").figures and parse("web") and not parse("  ")


@pytest.mark.parametrize("text, message", [
    ("cpu>", "missing number in 'cpu>'"),
    ("cpu>abc", "bad number 'abc' in 'cpu>abc'"),
    ("cpux>5", "unknown figure 'cpux' in 'cpux>5'"),
    ("hots:web", "unknown field 'hots' in 'hots:web'"),
    ("host:", "empty value in 'host:'"),
    ("host:a,", "empty alternative in 'host:a,'"),
    ("status:sleeping", "unknown status 'sleeping' in 'status:sleeping'"),
    ("label:team=~(", "bad label matcher in 'label:team=~('"),
    ("label:=db", "bad label matcher in 'label:=db'"),
    ('web "unterminated', "unterminated quote at position 5"),
    ("rx>3q", "bad number '3q' in 'rx>3q' (units: k, m, g)"),
    ("cpu>nan", "bad number 'nan' in 'cpu>nan'"),
    ("cpu=>5", "bad number '>5' in 'cpu=>5'"),
    (">80", "bad comparison '>80'"),
    ("x" * 2000, "filter is 2000 characters long"),
])
def test_bad_filters_name_the_wrong_part(text: str, message: str) -> None:
    with pytest.raises(QueryError) as err:
        parse(text)
    assert message in str(err.value)


def test_the_store_and_the_console_share_one_tokenizer() -> None:
    from broker.store import search

    assert search.QueryError is QueryError  # one error type for both languages
    toks = list(tokens('-host:"a b" "two words"* plain label:team=db'))
    assert [(t.neg, t.field, t.value, t.phrase, t.star, t.word) for t in toks] == [
        (True, "host", "a b", None, False, None), (False, None, "", "two words", True, None),
        (False, None, "", None, False, "plain"), (False, "label", "team=db", None, False, None)]
