"""monitor-ctl push: metrics from anyone, through a real broker; no restart, no gap."""

from __future__ import annotations

import pytest

from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration


def test_push_to_an_agent_host_is_no_restart_and_no_gap(broker: Broker) -> None:
    agent = start_agent(broker.endpoints["ingest"], "--host", "pushed-1", "--interval", "0.2")
    try:
        before = wait_for(lambda: [h for h in broker.ctl_json("hosts", "pushed-1")
                                   if h["seq"] >= 3], timeout=15, what="the agent")[0]
        for i in range(3):
            out = broker.ctl("push", "pushed-1", f"queue.depth={40 + i}", "jobs.failed=0")
            assert out.returncode == 0, out.stderr
            assert "pushed 2 metric(s) for pushed-1" in out.stdout
        after = wait_for(lambda: [h for h in broker.ctl_json("hosts", "pushed-1")
                                  if h["seq"] >= before["seq"] + 3], timeout=10,
                         what="more agent frames")[0]
        assert after["metrics"]["queue.depth"] == 42.0
        assert after["pushes"] == 3
        assert after["restarts"] == 0 and after["gaps"] == 0
        assert after["boot"] == before["boot"] and after["agent"] == before["agent"]
        assert broker.ctl_json("search", "kind:host.restart") == []
    finally:
        stop_proc(agent)


def test_push_creates_a_host_and_feeds_rules(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "queue_deep"\nkind = "threshold"\n'
                     'metric = "queue.depth"\nop = ">"\ncritical = 100\n')
    broker = Broker(tmp_path / "data", "--rules", str(rules))
    try:
        broker.ctl_json("push", "batch-1", "queue.depth=500", "--label", "team=jobs")
        alerts = wait_for(lambda: broker.ctl_json("alerts"), timeout=5, what="the alert")
        assert alerts[0]["rule"] == "queue_deep" and alerts[0]["host"] == "batch-1"
        assert alerts[0]["labels"]["team"] == "jobs"
        host = broker.ctl_json("hosts", "batch-1")[0]
        assert host["status"] == "up" and host["pushes"] == 1 and host["agent"] == ""
    finally:
        broker.stop()


@pytest.mark.parametrize(("args", "msg"), [
    (["h", "x"], "expected METRIC=VALUE"),
    (["h", "x=abc"], "is not a number"),
    (["h", "x=nan"], "NaN"),
    (["h", "bad\tname=1"], "control characters"),
    (["h", "x=1", "--label", "novalue"], "expected --label K=V"),
])
def test_bad_push_is_one_clear_line(broker: Broker, args: list[str], msg: str) -> None:
    out = broker.ctl("push", *args)
    assert out.returncode != 0
    assert msg in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert broker.ctl_json("status")  # the broker is still up
