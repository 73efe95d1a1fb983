"""StatsD lines, Nagios perfdata and the source config tables: pure parsing."""

from __future__ import annotations

import pytest

from agents.checks import parse_output, parse_perfdata
from agents.scrape import Target, parse
from agents.sources import parse_sources
from agents.statsd import Aggregator, StatsdError, parse_line
from core.config import ConfigError


def test_statsd_aggregates_per_flush() -> None:
    a = Aggregator()
    a.feed(b"c:1|c\nc:2|c|@0.5\ng:5|g\ng:+2|g\nt:1|ms\nt:3|ms\nt:2|h\ns:a|s\ns:a|s\n")
    m = a.flush(2.0)
    assert m["statsd.c.count"] == 5.0 and m["statsd.c.rate"] == 2.5
    assert m["statsd.g"] == 7.0
    assert (m["statsd.t.count"], m["statsd.t.min"], m["statsd.t.max"], m["statsd.t.mean"],
            m["statsd.t.p50"]) == (3.0, 1.0, 3.0, 2.0, 2.0)
    assert m["statsd.s.unique"] == 1.0
    m2 = a.flush(1.0)  # counters and timers restart; gauges stay
    assert "statsd.c.count" not in m2 and m2["statsd.g"] == 7.0


@pytest.mark.parametrize(("line", "why"), [
    ("novalue", "no 'name:'"), ("x:1", "no '|type'"), ("x:1|q", "unknown type"),
    ("x:abc|c", "not a number"), ("x:1|c|@2", "out of"), ("x:nan|g", "not finite"),
])
def test_bad_statsd_lines_say_why(line: str, why: str) -> None:
    with pytest.raises(StatsdError, match=why):
        parse_line(line)


def test_bad_statsd_lines_are_counted_not_fatal() -> None:
    a = Aggregator()
    a.feed(b"ok:1|c\ngarbage\n\xff\xfe:1|zz\n")
    assert a.bad == 2 and "garbage" in a.first_bad
    assert a.flush(1.0)["statsd.statsd.bad_lines"] == 2.0


def test_perfdata_units_quotes_and_thresholds() -> None:
    perf = parse_perfdata("/=2643MB;5948;5958;0;5968 'load avg'=0.5;1;2 time=250ms "
                          "used=80%;90;95 count=12c bad=x1")
    assert perf == {"/": 2643 * 2**20, "load_avg": 0.5, "time": 0.25, "used": 80.0,
                    "count": 12.0}


def test_check_output_summary_and_long_output_perfdata() -> None:
    summary, perf = parse_output("HTTP OK: 200 | t=1s\nlong text\nmore | size=1KB\n")
    assert summary == "HTTP OK: 200" and perf == {"t": 1.0, "size": 1024.0}


def test_scrape_parse_allow_deny_labels_limit() -> None:
    text = "a_total{x=\"1\"} 1\na_total{x=\"2\"} 2\nb 3\nc NaN\n"
    t = Target("t", "http://x", allow=("a_*", "b", "c"), deny=("b",), labels={"job": "j"},
               limit=1)
    metrics, over = parse(text, t)
    assert metrics == {'a_total{job="j",x="1"}': 1.0} and over == 1
    with pytest.raises(ValueError):
        parse("this { is not 1 2 3", t)


@pytest.mark.parametrize(("cfg", "why"), [
    ({"scrape": [{"url": "ftp://x"}]}, "expected an http"),
    ({"scrape": [{"url": "http://x", "interval": "fast"}]}, "bad duration"),
    ({"scrape": [{"url": "http://x", "colour": 1}]}, "unknown key 'colour'"),
    ({"check": [{"name": "a", "command": []}]}, "key 'command'"),
    ({"check": [{"name": "a b", "command": "x"}]}, "key 'name'"),
    ({"check": [{"name": "a", "command": "x"}, {"name": "a", "command": "y"}]}, "used twice"),
    ({"check": [{"name": "a", "command": "x 'unclosed"}]}, "No closing quotation"),
    ({"statsd": {"listen": "nope"}}, "expected HOST:PORT"),
    ({"scrape": {"url": "http://x"}}, "array of tables"),
])
def test_bad_source_config_names_the_table_and_key(cfg: dict, why: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=why):
        parse_sources(cfg, "agent.toml")


def test_good_source_config() -> None:
    s = parse_sources({"statsd": {}, "scrape": [{"url": "http://127.0.0.1:9100/metrics"}],
                       "check": [{"name": "disk", "command": "check_disk -w '10%' /"}]},
                      "agent.toml")
    assert s.statsd == {"listen": "127.0.0.1:8125", "flush": 10.0, "prefix": "statsd."}
    assert s.scrapes[0].name == "127_0_0_1_9100" and s.scrapes[0].interval == 15.0
    assert s.checks[0].command == ["check_disk", "-w", "10%", "/"]
