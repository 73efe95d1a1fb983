"""``monitor-ctl history HOST METRIC --plot`` against a real broker and agent: a host seen
for a few seconds already draws a line (the live samples the broker has not rolled up)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.textchart import BRAILLE
from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Broker, str]]:
    broker = Broker(Path(tmp_path_factory.mktemp("plot")))
    agent = start_agent(broker.endpoints["ingest"], "--simulate", "1", "--interval", "0.2",
                        "--no-incidents")
    try:
        hosts = wait_for(lambda: broker.ctl_json("hosts"), timeout=20, what="a host")
        yield broker, hosts[0]["host"]
    finally:
        stop_proc(agent)
        broker.stop()


def live(text: str) -> int:
    """The live samples the note under the chart counts."""
    return int(text.strip().splitlines()[-1].split(";")[1].split()[0])


def dot_columns(text: str) -> set[int]:
    return {c for line in text.splitlines() for c, ch in enumerate(line)
            if BRAILLE < ord(ch) <= BRAILLE + 0xFF}


def test_a_new_host_draws_a_line_of_live_samples(fleet: tuple[Broker, str]) -> None:
    broker, host = fleet

    def plot() -> str | None:
        out = broker.ctl("history", host, "cpu.percent", "--since", "1m", "--plot",
                         "--width", "70", "--height", "14")
        if out.returncode != 0:  # the host's first frames may still be on probation
            assert "no metric" not in out.stderr and "Traceback" not in out.stderr, out.stderr
            return None
        # (just after a minute boundary the live samples start again: poll on)
        return out.stdout if len(dot_columns(out.stdout)) >= 3 and live(out.stdout) >= 3 \
            else None

    text = wait_for(plot, timeout=15, what="a line of at least 3 columns")
    lines = text.splitlines()
    assert lines[0].startswith(f"{host} cpu.percent")
    assert len(lines) == 14 + 1  # the chart's lines and the note under it
    assert all(len(line) <= 70 for line in lines)
    assert any("%┤" in line for line in lines)  # the value axis in the metric's unit
    assert "crit 95%" in text and "warn 80%" in text  # the shipped high_cpu_usage levels
    assert "live samples" in lines[-1]
    assert live(text) >= 3


def test_bytes_are_labelled_with_iec_prefixes(fleet: tuple[Broker, str]) -> None:
    broker, host = fleet
    out = broker.ctl("history", host, "mem.used", "--since", "1h", "--plot", "--width", "60",
                     "--height", "10")
    assert out.returncode == 0, out.stderr
    assert "iB┤" in out.stdout  # MiB or GiB ticks


@pytest.mark.parametrize("args,code,words", [
    (["nohost-x", "cpu.percent"], 1, "no host 'nohost-x'"),
    (["{host}", "cpu.percnt"], 1, "did you mean cpu.percent"),
    (["{host}", "cpu.percent", "--since", "2x"], 2, "--since"),
    (["{host}", "cpu.percent", "--since", "90d"], 2, "at most 30d"),
    (["{host}", "cpu.percent", "--width", "3"], 2, "--width 3"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(fleet: tuple[Broker, str], args: list[str],
                                                  code: int, words: str) -> None:
    broker, host = fleet
    out = broker.ctl("history", *[a.format(host=host) for a in args], "--plot")
    assert out.returncode == code, (out.stdout, out.stderr)
    assert words in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not out.stdout


def test_without_plot_the_table_is_unchanged(fleet: tuple[Broker, str]) -> None:
    broker, host = fleet
    out = wait_for(lambda: (o := broker.ctl("history", host, "cpu.percent", "--since", "5m"))
                   .stdout.count("\n") >= 2 and o, timeout=10, what="a rollup row")
    assert out.stdout.splitlines()[0].split() == ["TIME", "MIN", "AVG", "MAX"]
    rows = broker.ctl_json("history", host, "cpu.percent", "--since", "5m")
    assert isinstance(rows, list) and {"ts", "min", "avg", "max"} <= set(rows[0])
