"""Options of the whole suite."""

from __future__ import annotations

import pytest

SOAK_DEFAULT_S = 45.0  # in `make test`; --soak-minutes N for long runs outside CI


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak-minutes", type=float, default=None, metavar="N",
                     help="run the TUI soak test for N minutes (default: 45 s)")


def soak_seconds(config: pytest.Config) -> float:
    minutes = config.getoption("--soak-minutes")
    return SOAK_DEFAULT_S if minutes is None else float(minutes) * 60.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The soak test's timeout follows its length: the walk (half as long again on a slow box,
    see tests/soak/test_tui_soak.py), plus start-up and settling."""
    for item in items:
        if item.get_closest_marker("soak"):
            item.add_marker(pytest.mark.timeout(soak_seconds(config) * 1.5 + 150))
