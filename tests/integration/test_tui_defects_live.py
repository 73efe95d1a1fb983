"""Regression tests of issue 10's defects that involve the broker: real processes on loopback.

One monitor-broker process (plus `monitor-agent --simulate 3 --no-incidents`) serves the
console tests; the start-up and Ctrl+C tests start their own processes.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from textual.widgets import Input, Static

from tests.procs import ENV, Broker, command, start_agent, stop_proc, wait_for
from tests.snapshots.frozen_app import type_text, until
from tui.app import MonitorApp
from tui.sources.live import LiveSource
from tui.widgets.alert_table import AlertTable
from tui.widgets.metric_chart import MetricChart
from tui.widgets.trend_chart import TrendChart

pytestmark = pytest.mark.integration
SIZE = (80, 24)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(tmp_path_factory.mktemp("defects"))
    agent = start_agent(b.endpoints["ingest"], "--simulate", "3", "--no-incidents",
                        "--seed", "7")
    try:
        wait_for(lambda: len(b.ctl_json("hosts")) >= 3, timeout=20, what="3 simulated hosts")
        yield b
    finally:
        stop_proc(agent)
        b.stop()


def live_app(b: Broker) -> MonitorApp:
    eps = b.endpoints
    return MonitorApp(LiveSource({"b": (eps["control"], eps["publish"])}), author="tester",
                      refresh_s=0.1)


async def connected(app: MonitorApp, pilot: Any) -> None:
    await until(pilot, lambda: app.connections.get("b") == "connected" and app.model.hosts,
                timeout=10, what="connected with hosts")


# 2 -------------------------------------------------------------------- refused search
async def test_a_refused_search_says_why_under_the_box_and_escape_still_works(
        broker: Broker) -> None:
    app = live_app(broker)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app, pilot)
        await pilot.press("3", "slash")
        await until(pilot, lambda: isinstance(app.focused, Input), what="search box")
        await type_text(pilot, "kind:broker.start")
        await pilot.press("enter")
        screen: Any = app.screen
        await until(pilot, lambda: screen.results, timeout=10, what="first results")
        before = list(screen._rows)
        await pilot.press("slash")
        box = screen.query_one("#query", Input)
        box.value = "hots:vm"
        await pilot.press("enter")
        error = screen.query_one("#query-error", Static)
        await until(pilot, lambda: error.display and screen.error, timeout=10,
                    what="inline error")
        assert "hots" in screen.error
        assert not screen.loading  # Textual's spinner: never set by the screen
        assert screen._rows == before  # the previous results stay
        await pilot.press("escape")
        await until(pilot, lambda: screen.live and not error.display, what="escape: live tail")


# 3 -------------------------------------------------------------------- history chart
async def test_the_history_chart_loads_from_a_real_broker(broker: Broker) -> None:
    app = live_app(broker)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app, pilot)
        await pilot.press("4")
        screen: Any = await until(pilot, lambda: app.current_mode == "host" and app.screen,
                                  what="host screen")
        await until(pilot, lambda: screen.host, what="a host")
        metric_chart = screen.query_one(MetricChart)
        key = (screen.host, "cpu.percent", metric_chart.range)
        got = await until(pilot, lambda: metric_chart.cache.get(key), timeout=10,
                          what="history reply")
        series = got[0]
        assert not isinstance(series, str), f"history refused: {series!r}"
        assert series.points and series.low and series.high  # avg line, min..max band
        chart = screen.query_one(TrendChart)
        await until(pilot, lambda: chart.message is None and chart.series, what="drawn")
        assert "no history" not in str(chart.render())


# 6 -------------------------------------------------------------------- live tail
async def test_the_live_tail_shows_alert_changes_as_they_happen(broker: Broker) -> None:
    app = live_app(broker)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app, pilot)
        await pilot.press("3")
        screen: Any = await until(pilot, lambda: app.current_mode == "events" and app.screen,
                                  what="events")
        host = sorted(app.model.hosts)[0]
        result = broker.ctl_json("simulate", "high_cpu_usage", "--host", host)
        [alert_id] = result["alert_ids"]
        await until(pilot, lambda: any(e.get("kind") == "alert" and e.get("alert_id") == alert_id
                                       for e in screen._rows), timeout=10,
                    what="the alert event in the live tail")


# 10 ------------------------------------------------------------------- unack author
async def test_unack_from_the_console_names_its_author(broker: Broker) -> None:
    app = live_app(broker)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app, pilot)
        host = sorted(app.model.hosts)[-1]
        [alert_id] = broker.ctl_json("simulate", "high_memory_usage", "--host", host)[
            "alert_ids"]
        broker.ctl("ack", alert_id)
        await until(pilot, lambda: app.model.alerts.get(alert_id, {}).get("acked"), timeout=10,
                    what="acked alert")
        await pilot.press("2")
        table = await until(pilot, lambda: app.current_mode == "alerts"
                            and app.screen.query_one(AlertTable), what="alerts screen")
        await until(pilot, lambda: alert_id in table._ids, what="alert row")
        table.move_cursor(row=table._ids.index(alert_id))
        await pilot.press("u")
        await until(pilot, lambda: not app.model.alerts[alert_id].get("acked"), timeout=10,
                    what="unacked")
    events = wait_for(lambda: broker.ctl_json("search", f"kind:unack alert:{alert_id}"),
                      timeout=10, what="unack event stored")
    author = events[0]["data"]["author"]
    assert author.split(":")[-1] == "tester", author  # the broker may prefix who connected


def test_ctl_prints_text_for_people_without_json(broker: Broker) -> None:
    host = broker.ctl_json("hosts")[0]["host"]
    out = broker.ctl("simulate", "disk_full", "--host", host)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("simulated disk_full on"), out.stdout
    alert_id = out.stdout.split(": ")[-1].strip()
    for args in (("ack", alert_id), ("unack", alert_id),
                 ("silence", f"host={host}", "--for", "5m")):
        out = broker.ctl(*args)
        assert out.returncode == 0, out.stderr
        assert "{" not in out.stdout and out.stdout.strip(), (args, out.stdout)


# 8 -------------------------------------------------------------------- data dir lock
def test_a_second_broker_on_the_same_data_dir_refuses_naming_the_holder(
        broker: Broker) -> None:
    args = [*command("monitor-broker"), "--ingest", "tcp://127.0.0.1:*", "--publish",
            "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--data-dir",
            str(broker.data_dir)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=20, env=ENV)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {broker.proc.pid}" in lines[0], out.stderr
    assert broker.proc.poll() is None  # the holder carries on


def test_demo_data_is_kept_apart_from_make_run() -> None:
    from tui.cli import data_dir_of, parse_args

    assert data_dir_of(parse_args(["--demo", "5"])) != data_dir_of(parse_args([]))
    assert data_dir_of(parse_args(["--demo", "--data-dir", "/x"])) == Path("/x")


# 10 ------------------------------------------------------------------- metrics port
def test_a_busy_metrics_port_is_named_in_the_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = [*command("monitor-broker"), "--ingest", "tcp://127.0.0.1:*", "--publish",
                "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--data-dir",
                str(tmp_path), "--metrics-port", str(port)]
        out = subprocess.run(args, capture_output=True, text=True, timeout=20, env=ENV)
    assert out.returncode == 1
    assert str(port) in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


# 9 -------------------------------------------------------------------- ctrl+c
@pytest.mark.parametrize("prog", ["monitor-tui", "monitor-ctl"])
def test_ctrl_c_while_waiting_for_the_broker_exits_130_without_a_traceback(prog: str) -> None:
    """A control endpoint that takes the request and never answers: the probe (tui) or the
    request (ctl) waits; Ctrl+C then ends it with 130 and no traceback."""
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    control = f"tcp://127.0.0.1:{port}"
    args = ([*command(prog), "--control", control, "--publish", f"tcp://127.0.0.1:{port + 1}"]
            if prog == "monitor-tui" else [*command(prog), "--control", control, "status"])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV)
    try:
        assert router.poll(15_000), f"{prog} sent no request"
        router.recv_multipart()  # it is waiting for the answer now
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 130, err
        assert "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        router.close(linger=0)
        ctx.term()
