"""The console on a broker with keys: an operator's ack carries the key's name, a viewer's
ack is refused with the role named, and the TUI says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import keydir
from core.keys import ClientCurve, load_keypair, load_public
from tests.procs import wait_for
from tests.snapshots.frozen_app import type_text, until
from tui.app import MonitorApp
from tui.screens.alerts import AlertsScreen
from tui.screens.dialogs import AckDialog
from tui.sources.live import LiveSource, probe
from tui.widgets.alert_table import AlertTable

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    from broker.system import MonitoringSystem

    tmp = tmp_path_factory.mktemp("keyed-tui")
    keys = tmp / "keys"
    keydir.init(keys)
    keydir.generate(keys, "ann", "operator")
    keydir.generate(keys, "bob", "viewer")
    ms = MonitoringSystem(tmp / "d", keys_dir=keys, local_agent=True, interval=0.2)
    ms.start()
    assert wait_for(lambda: ms.core is not None and ms.core.state.hosts, timeout=10,
                    what="the in-process agent's host")  # the in-process agent uses the broker's key
    yield ms, keys
    ms.stop()


def app_for(ms: Any, keys: Path, name: str) -> MonitorApp:
    curve = ClientCurve(load_public(keys / "broker.key"),
                        load_keypair(keys / "clients" / f"{name}.key_secret"))
    eps = ms.endpoints
    assert probe(eps["control"], timeout=2, curve=curve) is None
    return MonitorApp(LiveSource({"b": (eps["control"], eps["publish"])}, curve=curve),
                      author="mallory", refresh_s=0.1)


async def ack_from_tui(ms: Any, app: MonitorApp, pilot: Any, scenario: str) -> str:
    await until(pilot, lambda: app.connections.get("b") == "connected", timeout=10,
                what="connected")
    [alert_id] = ms.simulate_alert(scenario, sorted(ms.core.state.hosts)[0])
    await until(pilot, lambda: alert_id in app.model.alerts, timeout=10, what="alert")
    await pilot.press("2")
    table = await until(pilot, lambda: isinstance(app.screen, AlertsScreen)
                        and app.screen.query_one(AlertTable), what="alerts screen")
    await until(pilot, lambda: alert_id in table._ids, what="alert row")
    table.move_cursor(row=table._ids.index(alert_id))
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, AckDialog), what="ack dialog")
    await type_text(pilot, "mine")
    await pilot.press("enter")
    return str(alert_id)


async def test_an_operator_acks_under_the_keys_name(keyed: tuple[Any, Path]) -> None:
    ms, keys = keyed
    app = app_for(ms, keys, "ann")
    async with app.run_test(size=(80, 24)) as pilot:
        alert_id = await ack_from_tui(ms, app, pilot, "high_cpu_usage")
        ack = await until(pilot, lambda: app.model.alerts[alert_id].get("ack"), timeout=10,
                          what="the ack published back")
        assert ack["author"] == "ann" and ack["comment"] == "mine"  # not "mallory"
        assert ms.engine.alerts() and any(a["id"] == alert_id and a["ack"]["author"] == "ann"
                                          for a in ms.engine.alerts())


async def test_a_viewers_ack_is_refused_and_the_tui_says_why(keyed: tuple[Any, Path]) -> None:
    ms, keys = keyed
    app = app_for(ms, keys, "bob")
    async with app.run_test(size=(80, 24)) as pilot:
        alert_id = await ack_from_tui(ms, app, pilot, "disk_full")
        note = await until(pilot, lambda: [n for n in app._notifications
                                           if "refused" in n.message], timeout=10,
                           what="the refusal shown")
        assert "not authorised for role operator" in note[0].message
        assert not any(a["id"] == alert_id and a["acked"] for a in ms.engine.alerts())
