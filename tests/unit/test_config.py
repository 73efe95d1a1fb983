from __future__ import annotations

from pathlib import Path

import pytest

from core.config import (
    ConfigError,
    broker_endpoints,
    check_endpoint,
    check_keys,
    format_duration,
    load_toml,
    parse_duration,
)


@pytest.mark.parametrize("text,seconds", [
    ("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("250ms", 0.25),
    ("90", 90), (15, 15), (0.5, 0.5), ("1w", 604800),
])
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["3x", "", "m5", "5 m s", "-5s", -1, True, None, [1]])
def test_bad_duration_names_the_value(bad: object) -> None:
    with pytest.raises(ConfigError, match="for:"):
        parse_duration(bad, "for")  # type: ignore[arg-type]


def test_format_duration() -> None:
    assert [format_duration(s) for s in (5, 60, 125, 3700, 90000)] == \
        ["5s", "1m", "2m05s", "1h01m", "1d01h"]


def test_broker_endpoints() -> None:
    assert broker_endpoints("mon.example") == {
        "ingest": "tcp://mon.example:5555", "publish": "tcp://mon.example:5556",
        "control": "tcp://mon.example:5557"}
    assert broker_endpoints("10.0.0.5:7000")["control"] == "tcp://10.0.0.5:7002"
    with pytest.raises(ConfigError, match="is not a number"):
        broker_endpoints("h:x")
    with pytest.raises(ConfigError, match="out of range"):
        broker_endpoints("h:70000")


def test_check_endpoint() -> None:
    assert check_endpoint("tcp://127.0.0.1:*", "--x") == "tcp://127.0.0.1:*"
    assert check_endpoint("ipc:///tmp/a.sock", "--x")
    with pytest.raises(ConfigError, match="--ingest 'http://x'"):
        check_endpoint("http://x", "--ingest")


def test_load_toml_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[broker\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        load_toml(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_toml(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="unknown key 'inggest'"):
        check_keys({"inggest": 1}, {"ingest"}, "x.toml: [broker]")
