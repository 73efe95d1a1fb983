"""The console on a broker pair keeps its picture when one broker dies, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procs import Broker, start_agent, stop_proc, wait_for
from tests.snapshots.frozen_app import until
from tui.app import MonitorApp
from tui.sources.live import LiveSource
from tui.widgets.host_table import HostTable

pytestmark = pytest.mark.integration


async def test_one_broker_of_a_pair_dies_the_console_keeps_its_picture(tmp_path: Path) -> None:
    a = Broker(tmp_path / "a", "--host-timeout", "60s")
    b = Broker(tmp_path / "b", "--peer", a.endpoints["control"], "--host-timeout", "60s")
    agent = start_agent(a.endpoints["ingest"], "--ingest", b.endpoints["ingest"],
                        "--simulate", "5", "--interval", "0.3")
    try:
        wait_for(lambda: len(b.ask("hosts")) == 5, timeout=15, what="hosts on b")
        app = MonitorApp(LiveSource({"a": (a.endpoints["control"], a.endpoints["publish"]),
                                     "b": (b.endpoints["control"], b.endpoints["publish"])},
                                    # a broker silent for 1.5 s is lost (the default 3 s)
                                    timeout=1.5, heartbeat=0.25),
                         author="tester", refresh_s=0.1)
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one(HostTable)
            await until(pilot, lambda: len(table._shown) == 5, timeout=15, what="five rows")
            await until(pilot, lambda: set(app.connections.values()) == {"connected"},
                        timeout=10, what="both brokers connected")
            a.proc.kill()
            a.proc.wait()
            await until(pilot, lambda: app.connections.get("a") != "connected", timeout=15,
                        what="the console to notice a is gone")
            await pilot.pause()
            assert "1/2 brokers" in app.sub_title and "a " in app.sub_title, app.sub_title
            assert not app.has_class("-stale")  # b still feeds the picture
            assert len(table._shown) == 5
            b.stop()
            await until(pilot, lambda: "connected" not in app.connections.values(),
                        timeout=15, what="both gone")
            await pilot.pause()
            assert app.has_class("-stale")  # now nothing feeds it: dimmed, not blank
            assert len(table._shown) == 5
    finally:
        stop_proc(agent)
        b.stop()
        a.stop()
