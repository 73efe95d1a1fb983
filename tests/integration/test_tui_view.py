"""A console on a big fleet follows its view: a real broker process, 2,000 simulated hosts
from a real monitor-agent, and the real MonitorApp on a LiveSource (headless)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core import protocol
from tests.procs import Broker, start_agent, stop_proc, wait_for
from tests.snapshots.frozen_app import until
from tui.app import MonitorApp
from tui.sources.live import LiveSource
from tui.sources.session import VIEW_ABOVE
from tui.widgets.host_table import HostTable

pytestmark = [pytest.mark.integration, pytest.mark.serial, pytest.mark.timeout(240)]
HOSTS = 2000
DIGEST = protocol.topic("d", "fleet")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    assert HOSTS > VIEW_ABOVE
    broker = Broker(Path(tmp_path_factory.mktemp("view")) / "data")
    agent = start_agent(broker.endpoints["ingest"], "--simulate", str(HOSTS), "--seed", "4")
    try:
        wait_for(lambda: broker.ctl_json("status")["hosts"] >= HOSTS, timeout=90,
                 what=f"{HOSTS} simulated hosts at the broker")
        yield broker
    finally:
        stop_proc(agent)
        broker.stop()


def metrics_hosts(topics: dict[bytes, int]) -> set[str]:
    """The hosts whose metrics frames reached the console (topic m.<host> + end byte)."""
    return {t[2:-1].decode() for t, n in topics.items() if t.startswith(b"m.") and n}


def true_top_cpu(broker: Broker) -> str:
    hosts = broker.ctl_json("hosts")
    return max((h for h in hosts if "cpu.percent" in h["metrics"]),
               key=lambda h: h["metrics"]["cpu.percent"])["host"]


async def test_console_receives_only_the_hosts_it_shows_and_sorts_from_the_digest(
        fleet: Broker) -> None:
    eps = fleet.endpoints
    source = LiveSource({"big": (eps["control"], eps["publish"])}, timeout=10.0)
    app = MonitorApp(source, refresh_s=0.2)
    link = source.links["big"]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.model.hosts) >= HOSTS, timeout=60,
                    what="every host in the model (brief snapshot + digest)")
        table = app.screen.query_one(HostTable)
        await until(pilot, lambda: link.topics[DIGEST] >= 2 and table.visible_hosts(),
                    timeout=30, what="digests and a painted table")
        link.topics.clear()  # count from here: the view mode is established
        link.subscribed.clear()
        link.subscribed.update(source.links["big"].view)
        await until(pilot, lambda: link.topics[DIGEST] >= 4, timeout=30, what="4 digests")
        got = metrics_hosts(link.topics)
        shown = set(table.visible_hosts())
        assert got, "the hosts on screen get their metrics"
        assert got <= link.subscribed, f"never shown: {sorted(got - link.subscribed)[:5]}"
        assert len(got) <= 3 * 24 and len(got) < HOSTS / 20, len(got)
        assert shown & got, "the rows on screen are among the hosts followed"
        per_s = sum(n for t, n in link.topics.items() if t.startswith(b"m.")) / 4
        assert per_s < HOSTS / 10, f"{per_s:.0f} metrics frames a second for a 2,000-host fleet"
        # sort by CPU (biggest first): the broker's true top host comes first
        while table.sort_column != "cpu":
            await pilot.press("o")
        assert table.sort_reverse
        top = await until(pilot, lambda: table._order[:1] == [true_top_cpu(fleet)]
                          and table._order[0], timeout=30, what="the top CPU host first")
        app.selected_host = top
        app.refresh_views(force=True)
        # opening a host follows its full stream even when it is not on screen (scroll
        # the rows away; End would move the cursor, and so the open host, since issue 10)
        table.scroll_end(animate=False)
        await until(pilot, lambda: top in link.view, timeout=10, what="the open host in the view")
        before = link.topics[protocol.host_topic(top)]
        await until(pilot, lambda: link.topics[protocol.host_topic(top)] >= before + 2,
                    timeout=15, what="the open host's metrics")
        assert any(k.startswith("disk.") for k in app.model.hosts[top].metrics)
        assert link.resyncs == 0  # gaps in nseq, not pseq, mean lost frames in view mode
