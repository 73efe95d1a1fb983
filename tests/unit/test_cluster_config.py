"""The `[cluster]` section of the broker's config (broker/config.py): round_trip_timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.cluster.claims import ROUND_TRIP_TIMEOUT_S
from broker.config import load_config
from core.config import ConfigError


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "broker.toml"
    path.write_text(f"[cluster]\n{body}\n")
    return path


def test_round_trip_timeout_defaults_to_two_seconds_and_takes_durations(tmp_path: Path) -> None:
    assert load_config(config(tmp_path, 'name = "a"')).cluster.round_trip_timeout == 2.0
    assert ROUND_TRIP_TIMEOUT_S == 2.0  # the claim book's default is the same
    assert load_config(config(tmp_path, 'round_trip_timeout = "750ms"')
                       ).cluster.round_trip_timeout == 0.75
    assert load_config(config(tmp_path, "round_trip_timeout = 5")).cluster.round_trip_timeout \
        == 5.0
    # a short lease (a test pair's "1s") keeps the default wait, as before the setting
    assert load_config(config(tmp_path, 'claim_lease = "1s"')).cluster.round_trip_timeout == 2.0


@pytest.mark.parametrize("value,why", [
    ('"soon"', "round_trip_timeout'"),
    ("-1", "round_trip_timeout'"),
    ('"0s"', "round_trip_timeout': must be above zero"),
    ("[2]", "round_trip_timeout'"),
    ('"20s"', r"round_trip_timeout' \(20s\): must be below 'claim_lease' \(15s\)"),
])
def test_a_bad_round_trip_timeout_is_refused_naming_the_key(tmp_path: Path, value: str,
                                                             why: str) -> None:
    path = config(tmp_path, f"round_trip_timeout = {value}")
    with pytest.raises(ConfigError, match=rf"broker\.toml: \[cluster\] key '{why}"):
        load_config(path)
