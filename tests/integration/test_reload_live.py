"""Live configuration through a real broker: receivers and routes added and removed by
``monitor-ctl reload`` and SIGHUP while alerts fire, a bad file refused whole, and the
notifications already queued for a removed receiver still delivered."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify_servers import Recorder
from tests.procs import Broker, wait_for

pytestmark = pytest.mark.integration


def receiver(name: str, url: str) -> str:
    return (f'[[receiver]]\nname = "{name}"\ntype = "webhook"\nurl = "{url}"\n'
            'retry_initial = "300ms"\n')


def route(name: str) -> str:
    return f'[[route]]\nreceiver = "{name}"\ngroup_wait = "0s"\n'


@pytest.fixture
def hooks() -> Iterator[tuple[Recorder, Recorder]]:
    a, b = Recorder(codes=[503] * 10_000), Recorder()  # a fails until the test lets it
    yield a, b
    a.close()
    b.close()


def hosts_in(rec: Recorder, n: int) -> list[str]:
    return [a["labels"]["host"] for r in rec.wait_for(n) for a in json.loads(r["body"])["alerts"]]


def test_receivers_and_routes_change_live_and_nothing_queued_is_lost(
        tmp_path: Path, hooks: tuple[Recorder, Recorder]) -> None:
    a, b = hooks
    cfg = tmp_path / "broker.toml"
    cfg.write_text(receiver("a", a.url) + route("a"))
    broker = Broker(tmp_path / "data", "--config", str(cfg))
    try:
        broker.ctl_json("simulate", "high_cpu_usage", "--host", "web-1")
        a.wait_for(1, ok_only=False)  # a 503: the notification waits in the outbox
        # a is removed and b added while a's notification is still in the outbox
        cfg.write_text(receiver("b", b.url) + route("b"))
        out = broker.ctl_json("reload")
        assert out["receivers"] == 1 and out["routes"] == 1, out
        with a.cond:
            a.codes.clear()  # a answers again
        assert hosts_in(a, 1) == ["web-1"]  # the queued one still reached a, on a retry
        broker.ctl_json("simulate", "disk_full", "--host", "web-2")
        assert hosts_in(b, 1) == ["web-2"]  # new alerts go to b only
        assert len([r for r in a.requests if r["code"] == 200]) == 1

        # a bad file is refused whole, says why, and the old receivers stay
        cfg.write_text(receiver("a", a.url) + route("a") + 'body = "{{nope}}"\n')
        bad = broker.ctl("reload")
        assert bad.returncode == 1
        assert "broker.toml: route #1 key 'body': unknown field 'nope'" in bad.stderr
        broker.ctl_json("simulate", "high_memory_usage", "--host", "web-3")
        assert "web-3" in hosts_in(b, 2)
        assert len([r for r in a.requests if r["code"] == 200]) == 1

        # SIGHUP: a is back, first in line; b only takes a host that does not exist
        cfg.write_text(receiver("a", a.url) + receiver("b", b.url) + route("a")
                       + route("b") + 'match = { host = "none" }\n')
        broker.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any("2 receivers" in e["message"] for e in
                             broker.ctl_json("search", "kind:rules.reload")),
                 timeout=10, what="the SIGHUP reload")
        broker.ctl_json("simulate", "disk_full", "--host", "web-4")
        assert "web-4" in hosts_in(a, 2)
        # notify.sent is emitted after the receiver answered and stored a batch later
        wait_for(lambda: sum(e["data"]["receiver"] == "a" for e in
                             broker.ctl_json("search", "kind:notify.sent")) >= 2,
                 timeout=5, what="two notify.sent events for a")
        assert broker.proc.poll() is None
    finally:
        broker.stop()
