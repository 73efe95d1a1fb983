"""The search language against a real store: every filter, paging, and every kind of bad input."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.store.search import QueryError, compile_query, parse_time
from core.clock import FakeClock
from tests.unit.store_helpers import T0, ev, running_store

NOW = T0 + 100
EVENTS = [
    ev("log", "disk full on /var", ts=T0 + 1, host="web-1", severity="critical"),
    ev("log", "connection refused by upstream", ts=T0 + 2, host="web-2", severity="warning"),
    ev("log", "disk almost full", ts=T0 + 3, host="db-1", severity="warning"),
    ev("alert", "CPU on web-1 at 97%", ts=T0 + 4, host="web-1", severity="critical",
       rule="high_cpu_usage", alert_id="ab12cd34", data={"from": "pending", "to": "firing"}),
    ev("notify.sent", "sent slack message", ts=T0 + 5, host="web-1", rule="high_cpu_usage",
       alert_id="ab12cd34"),
    ev("notify.failed", "smtp timeout", ts=T0 + 6, host="web-1", severity="warning",
       rule="high_cpu_usage", alert_id="ab12cd34"),
    ev("host.up", "db-1 joined", ts=T0 + 7, host="db-1"),
    ev("notifyx", "a kind that only shares a prefix", ts=T0 + 8),
    ev("log", "bracket host [1] said hello", ts=T0 + 9, host="lab[1]"),
    ev("log", 'quote " and AND OR NOT NEAR( * ^ chars', ts=T0 + 10, host="web-10"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "events.db"
    with running_store(path, FakeClock(NOW)) as s:
        for e in EVENTS:
            s.put(e)
        assert s.flush(10)
        yield s


def msgs(store, query, **kw):
    return [e["message"] for e in store.search(query, **kw)]


def test_free_words_are_anded_and_newest_first(store):
    assert msgs(store, "disk full") == ["disk almost full", "disk full on /var"]
    assert msgs(store, "disk refused") == []


def test_quoted_phrase_needs_adjacent_words(store):
    assert msgs(store, '"disk full"') == ["disk full on /var"]
    assert msgs(store, '"full disk"') == []


def test_exclusion(store):
    assert msgs(store, "disk -almost") == ["disk full on /var"]
    assert msgs(store, 'disk -"almost full"') == ["disk full on /var"]


def test_exclusion_only(store):
    got = msgs(store, "-disk -smtp")
    assert "disk full on /var" not in got and "smtp timeout" not in got
    assert len(got) == len(EVENTS) - 3


def test_prefix_word(store):
    assert msgs(store, "conn*") == ["connection refused by upstream"]


def test_free_words_match_fields_too(store):
    assert "smtp timeout" in msgs(store, "high_cpu_usage")  # rule is indexed


@pytest.mark.parametrize("query, expected", [
    ("host:web-1", ["smtp timeout", "sent slack message", "CPU on web-1 at 97%",
                    "disk full on /var"]),
    ("host:db-1 kind:host.up", ["db-1 joined"]),
    ("host:web-* severity:warning", ["smtp timeout", "connection refused by upstream"]),
    ("host:web-?", ["smtp timeout", "sent slack message", "CPU on web-1 at 97%",
                    "connection refused by upstream", "disk full on /var"]),
    ("host:web-2,db-1 -kind:host", ["disk almost full", "connection refused by upstream"]),
    ("host:lab[1]", ["bracket host [1] said hello"]),
    ("host:lab[1]*", ["bracket host [1] said hello"]),
    ("-host:web-* -host:db-* -host:lab*", ["a kind that only shares a prefix"]),
])
def test_host_filter(store, query, expected):
    assert msgs(store, query) == expected


@pytest.mark.parametrize("query, count", [
    ("severity:critical", 2), ("severity:warning", 3), ("severity:>=warning", 5),
    ("severity:>warning", 2), ("severity:<warning", 5), ("severity:<=warning", 8),
    ("severity:=info", 5), ("severity:info,critical", 7), ("-severity:info", 5),
    ("severity:>critical", 0),
])
def test_severity_filter(store, query, count):
    assert len(store.search(query)) == count


@pytest.mark.parametrize("query, expected", [
    ("kind:alert", ["CPU on web-1 at 97%"]),
    ("kind:notify", ["smtp timeout", "sent slack message"]),
    ("kind:notify.sent", ["sent slack message"]),
    ("kind:notifyx", ["a kind that only shares a prefix"]),
    ("kind:notif", []),
    ("kind:notify*", ["a kind that only shares a prefix", "smtp timeout", "sent slack message"]),
])
def test_kind_filter_matches_dotted_prefix(store, query, expected):
    assert msgs(store, query) == expected


def test_rule_and_alert_filters(store):
    assert len(store.search("rule:high_cpu_usage")) == 3
    assert len(store.search("rule:high_*")) == 3
    assert msgs(store, "alert:ab12cd34 kind:alert") == ["CPU on web-1 at 97%"]
    assert msgs(store, "alert:ab12cd34 smtp") == ["smtp timeout"]
    assert store.search("rule:nope") == []
    assert len(store.search("-rule:high_cpu_usage")) == len(EVENTS) - 3


def test_since_and_until_relative_to_now(store):
    assert len(store.search("since:95s")) == 6  # ts >= T0 + 5
    assert msgs(store, "since:98s until:96s") == ["disk almost full", "connection refused by upstream"]
    assert len(store.search("since:1h")) == len(EVENTS)
    assert len(store.search("since:1h", now=NOW + 7200)) == 0


def test_since_absolute_time():
    iso = datetime.fromtimestamp(T0 + 5, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert parse_time(iso, NOW) == T0 + 5
    assert parse_time(str(int(T0)), NOW) == T0
    assert parse_time("2d", NOW) == NOW - 2 * 86400
    naive = datetime(2026, 11, 26, 10, 0)
    assert parse_time("2026-11-26T10:00", NOW) == naive.timestamp()  # naive = local time


def test_absolute_since_in_a_query(store):
    iso = datetime.fromtimestamp(T0 + 9, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert len(store.search(f"since:{iso}")) == 2


def test_paging_with_before_seq_walks_everything_once(store):
    seen, before = [], None
    while True:
        page = store.search("", limit=3, before_seq=before)
        if not page:
            break
        seen += [e["id"] for e in page]
        before = page[-1]["seq"]
    assert seen == [e["id"] for e in reversed(EVENTS)]


def test_paging_with_before_ts(store):
    page = store.search("host:web-1", limit=2)
    rest = store.search("host:web-1", limit=10, before_ts=page[-1]["ts"])
    assert [e["message"] for e in page + rest] == msgs(store, "host:web-1")


def test_paging_a_full_text_query(store):
    first = store.search("disk", limit=1)
    assert msgs(store, "disk", before_seq=first[0]["seq"]) == ["disk full on /var"]


def test_results_carry_the_event_fields(store):
    (e,) = store.search("kind:alert")
    src = EVENTS[3]
    assert {k: e[k] for k in src} == src
    assert isinstance(e["seq"], int)


@pytest.mark.parametrize("query, fragment", [
    ("hots:web-1", "unknown field 'hots' in 'hots:web-1' (fields: host, severity, kind, rule"),
    ('disk "full', "unterminated quote at position 6"),
    ("host:", "empty value in 'host:'"),
    ("severity:bad", "unknown severity 'bad' in 'severity:bad'"),
    ("severity:>=", "unknown severity '' in 'severity:>='"),
    ("since:yesterday", "bad time 'yesterday' in 'since:yesterday'"),
    ("since:5", "bad time '5'"),
    ("-since:1h", "cannot be negated"),
    ("disk !!!", "nothing to search for in '!!!'"),
    ('""', "nothing to search for in '\"\"'"),
    ("host:a,,b", "empty alternative in 'host:a,,b'"),
])
def test_bad_queries_point_at_the_token(store, query, fragment):
    with pytest.raises(QueryError) as info:
        store.search(query)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_limit(store):
    with pytest.raises(QueryError):
        store.search("disk", limit=0)


@pytest.mark.parametrize("query", [
    'quote " and', '"AND OR NOT NEAR("', "NEAR( ^", '"chars" AND', "'; DROP TABLE events; --",
    "host:'; DROP TABLE events; --", '"a""b"', "kind:*", "*",
])
def test_hostile_input_never_reaches_sql_or_fts_syntax(store, query):
    try:
        store.search(query)
    except QueryError as e:
        assert "could not run" not in str(e)
    assert len(store.search("")) == len(EVENTS)  # the table is still there


def test_fts_operators_in_text_are_literal_words(store):
    assert msgs(store, '"AND OR NOT"') == ['quote " and AND OR NOT NEAR( * ^ chars']
    assert msgs(store, "near") == ['quote " and AND OR NOT NEAR( * ^ chars']


def test_user_values_are_bound_parameters():
    c = compile_query("host:x' kind:\"y;z\" rule:z -w since:1h", now=NOW)
    assert "x'" not in c.sql and "y;z" not in c.sql
    assert "x'" in c.params


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_text_is_a_result_or_a_query_error(tmp_path, text):
    conn = _fts_conn()
    try:
        c = compile_query(text, now=NOW)
        conn.execute(f"SELECT count(*) {c.sql}", c.params).fetchone()
    except QueryError:
        pass
    finally:
        conn.close()


def _fts_conn() -> sqlite3.Connection:
    from broker.store.schema import migrate
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    return conn


PLAN_QUERIES = ["kind:notify", "host:web-* kind:notify", "severity:>=warning", "host:web-1",
                "since:95s", "until:96s", "-disk", "host:web-1 -smtp", "disk -almost",
                "host:*-1", "rule:high_* severity:warning", "alert:ab12cd34", "until:1h"]


@pytest.mark.parametrize("probe, window", [(1, 1), (10**9, 1), (0, 2)])
def test_every_plan_gives_the_same_answer(store, monkeypatch, probe, window):
    """PROBE/FIRST_WINDOW pick the plan (index, NOT INDEXED, windowed exclusion); a tiny
    store would otherwise only ever take one of them."""
    from broker.store import search_plan as search_run
    expected = {q: [e["id"] for e in store.search(q)] for q in PLAN_QUERIES}
    monkeypatch.setattr(search_run, "PROBE", probe)
    monkeypatch.setattr(search_run, "FIRST_WINDOW", window)
    for q in PLAN_QUERIES:
        assert [e["id"] for e in store.search(q)] == expected[q], q
        assert [e["id"] for e in store.search(q, limit=2)] == expected[q][:2], q


def test_leading_wildcard_glob_cannot_use_the_index_but_still_answers(store):
    assert msgs(store, "host:*-2") == ["connection refused by upstream"]
