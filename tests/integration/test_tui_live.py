"""The console against a real MonitoringSystem on loopback: live host, ack, simulate, search."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from textual.widgets import Input

from core import protocol
from tests.procs import wait_for
from tests.snapshots.frozen_app import type_text, until
from tui.app import MonitorApp
from tui.screens.dialogs import AckDialog, SimulateDialog
from tui.sources.live import LiveSource
from tui.widgets.alert_table import AlertTable
from tui.widgets.host_table import HostTable

pytestmark = pytest.mark.integration
_ids = itertools.count()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from broker.system import MonitoringSystem

    ms = MonitoringSystem(data_dir=Path(tmp_path_factory.mktemp("tui-live")), local_agent=True)
    ms.start()
    assert wait_for(lambda: ms.core is not None and ms.core.state.hosts, timeout=10,
                    what="the in-process agent's host")
    yield ms
    ms.stop()


def ctl(system: Any, op: str, **args: Any) -> Any:
    """One control request over a real DEALER, as monitor-ctl would send it."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 5000)
    try:
        sock.connect(system.endpoints["control"])
        sock.send(protocol.request(f"t{next(_ids)}", op, **args))
        reply = protocol.unpack(sock.recv())
    finally:
        sock.close(linger=0)
        ctx.term()
    assert reply["ok"], reply.get("error")
    return reply["result"]


def live_app(system: Any) -> MonitorApp:
    eps = system.endpoints
    return MonitorApp(LiveSource({"embedded": (eps["control"], eps["publish"])}),
                      author="tester", refresh_s=0.1)


def this_host(system: Any) -> str:
    return ctl(system, "hosts")[0]["host"]


async def test_shows_this_host_and_its_cpu(system: Any) -> None:
    app = live_app(system)
    host = this_host(system)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: host in table._shown, timeout=10, what="host row")
        cpu = await until(pilot, lambda: (str(table.get_cell(host, "cpu")) != "-"
                                          and str(table.get_cell(host, "cpu"))),
                          timeout=10, what="cpu value")
        assert cpu.endswith("%")
        assert app.connections == {"embedded": "connected"}


async def test_ack_in_the_tui_changes_the_alert_in_the_broker(system: Any) -> None:
    host = this_host(system)
    app = live_app(system)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connections.get("embedded") == "connected",
                    timeout=10, what="connected")
        [alert_id] = system.simulate_alert("high_cpu_usage", host)
        await until(pilot, lambda: alert_id in app.model.alerts, timeout=10, what="alert")
        await pilot.press("2")
        table = await until(pilot, lambda: app.current_mode == "alerts"
                            and app.screen.query_one(AlertTable), what="alerts screen")
        await until(pilot, lambda: alert_id in table._ids, what="alert row")
        table.move_cursor(row=table._ids.index(alert_id))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AckDialog), what="ack dialog")
        await type_text(pilot, "looking")
        await pilot.press("enter")

        def acked_in_broker() -> bool:
            return any(a["id"] == alert_id and a["acked"] for a in ctl(system, "alerts"))
        await until(pilot, acked_in_broker, timeout=10, what="ack in the broker")
        broker_alert = next(a for a in ctl(system, "alerts") if a["id"] == alert_id)
        assert broker_alert["ack"]["author"] == "local:tester"  # keyless: the claim, marked as such
        assert broker_alert["ack"]["comment"] == "looking"
        await until(pilot, lambda: app.model.alerts[alert_id].get("acked"), timeout=10,
                    what="ack published back to the TUI")


async def test_simulate_puts_a_new_alert_in_the_feed(system: Any) -> None:
    app = live_app(system)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.scenarios, timeout=10, what="rules")
        before = set(app.model.alerts)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SimulateDialog), what="dialog")
        picker = app.screen.query_one("#scenario")
        picker.highlighted = app.scenarios.index("high_memory_usage")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.focused, Input), what="host box")
        await pilot.press("enter")
        feed = app.screen.query_one("#feed", AlertTable)

        def new_in_feed() -> list[str]:
            return [i for i in feed._ids if i and i not in before
                    and app.model.alerts[i].get("rule") == "high_memory_usage"]
        [alert_id] = await until(pilot, new_in_feed, timeout=10, what="simulated alert in feed")
        assert app.model.alerts[alert_id]["simulated"]


async def test_search_returns_events_from_the_store(system: Any) -> None:
    host = this_host(system)
    system.simulate_alert("disk_full", host)
    app = live_app(system)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connections.get("embedded") == "connected",
                    timeout=10, what="connected")
        await pilot.press("3", "slash")
        await until(pilot, lambda: isinstance(app.focused, Input), what="search box")
        await type_text(pilot, "rule:disk_full")
        await pilot.press("enter")
        deadline = time.monotonic() + 10
        while not app.screen.results and time.monotonic() < deadline:
            await pilot.press("enter")  # the store writes in batches: ask again until it has it
            await until(pilot, lambda: not app.screen.loading, what="reply")
        assert app.screen.results, "search returned nothing"
        assert all(e["rule"] == "disk_full" for e in app.screen.results)
