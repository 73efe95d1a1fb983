"""core/units.py: one unit table and one formatter for the TUI, monitor-ctl and templates."""

from __future__ import annotations

import pytest

from core.units import fmt, fmt_metric, unit_of


@pytest.mark.parametrize(("metric", "unit"), [
    ("mem.total", "B"), ("disk./.used", "B"), ("net.eth0.rx_bps", "B/s"),
    ("diskio.sda.write_bps", "B/s"), ("cpu.percent", "%"), ("disk./var.percent", "%"),
    ("cpu.iowait", "%"), ("uptime", "s"), ("proc.count", "count"), ("load.1", "count"),
    ("cpu.count", "count"),
])
def test_unit_of_each_metric_family(metric: str, unit: str) -> None:
    assert unit_of(metric) == unit


@pytest.mark.parametrize(("value", "unit", "text"), [
    (25_325_268_992, "B", "23.6 GiB"),  # the host screen showed 253252689
    (1023, "B", "1023 B"), (1536, "B", "1.5 KiB"), (0, "B", "0 B"),
    (2.4e6, "B/s", "2.4 MB/s"), (999.97, "B/s", "1 kB/s"), (512, "B/s", "512 B/s"),
    (97.34, "%", "97.3%"), (100.0, "%", "100%"),
    (45, "s", "45s"), (5400, "s", "1.5h"), (86400 * 12, "s", "12d"), (0.2, "s", "200ms"),
    (180, "count", "180"), (1_234_567, "count", "1.23M"), (0.25, "count", "0.25"),
    (None, "B", "-"),
])
def test_fmt_picks_a_prefix_instead_of_cutting(value: float | None, unit: str,
                                              text: str) -> None:
    assert fmt(value, unit) == text


def test_every_figure_stays_short_whatever_its_size() -> None:
    for unit in ("B", "B/s", "count"):
        for exp in range(0, 19):
            text = fmt(7.77 * 10 ** exp, unit)
            number = text.split()[0].rstrip("kMGTPEi")
            assert len(number) <= 4, (unit, exp, text)


def test_fmt_metric_uses_the_metric_unit() -> None:
    assert fmt_metric("mem.total", 32 * 2**30) == "32 GiB"
    assert fmt_metric("net.eth0.tx_bps", 1.25e9) == "1.25 GB/s"
