"""The ``incident`` op against a real broker: an alert fired by a real agent's samples, the
agent's log lines and top processes, and a notification delivered to a real HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.notify_servers import Recorder
from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration

HOST = "inc-1"
RULES = """
[[rule]]
name = "procs_running"
kind = "threshold"
metric = "proc.count"
op = ">"
warning = 0
critical = 1
clear = 0
summary = "{host} runs {value:.0f} processes"

[[rule]]
name = "uptime_long"
kind = "threshold"
metric = "uptime"
op = ">"
warning = 1
clear = 0
"""


@pytest.fixture(scope="module")
def fired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("incident")
    hook = Recorder()
    (tmp / "rules.toml").write_text(RULES)
    (tmp / "broker.toml").write_text(f'''
[[receiver]]
name = "hook"
type = "webhook"
url = "{hook.url}"

[[route]]
receiver = "hook"
match = {{ alertname = "procs_running" }}
group_wait = "0s"
''')
    log = tmp / "app.log"
    log.write_text("")
    broker = Broker(tmp / "data", "--rules", str(tmp / "rules.toml"),
                    "--config", str(tmp / "broker.toml"))
    agent = start_agent(broker.endpoints["ingest"], "--host", HOST, "--interval", "0.5",
                        "--process-every", "1s", "--log-file", str(log))
    try:
        wait_for(lambda: [h for h in broker.ctl_json("hosts", HOST) if h.get("processes")],
                 timeout=20, what="processes from the agent")
        with log.open("a") as f:
            f.write("ERROR payment gateway said 502\nINFO retrying in 5s\n")
        wait_for(lambda: broker.ctl_json("search", f"host:{HOST} kind:log gateway"),
                 timeout=15, what="log line stored")

        def firing() -> list[dict[str, Any]]:
            return [a for a in broker.ctl_json("alerts")
                    if a["rule"] == "procs_running" and a["state"] == "firing"]
        # the rule fires on the agent's first sample, maybe before the processes came:
        # a fresh episode after a forget and a new sample carries them
        alert = wait_for(firing, timeout=15, what="alert firing")[0]
        hook.wait_for(1, timeout=15)
        wait_for(lambda: [n for n in broker.ctl_json("notifications", "--alert", alert["id"])
                          if n["status"] == "delivered"], timeout=10, what="delivered")
        yield {"broker": broker, "alert": alert, "hook": hook}
    finally:
        stop_proc(agent)
        broker.stop()
        hook.close()


def test_incident_assembles_the_alert_and_what_surrounds_it(fired: dict[str, Any]) -> None:
    broker, alert = fired["broker"], fired["alert"]
    inc = broker.ctl_json("incident", alert["id"])
    assert inc["alert"]["id"] == alert["id"] and inc["alert"]["state"] == "firing"
    assert inc["alert"]["episode"] == alert["episode"]
    assert inc["host"]["host"] == HOST and inc["host"]["status"] == "up"
    # the other alert of the host, not this one
    assert [o["rule"] for o in inc["others"]] == ["uptime_long"]
    # notifications of this alert, delivered to the real receiver
    [sent] = inc["notifications"]
    assert sent["receiver"] == "hook" and sent["status"] == "delivered"
    # log lines of the host from before the start on, oldest first
    messages = [e["message"] for e in inc["logs"]]
    assert any("payment gateway said 502" in m for m in messages), messages
    assert [e["ts"] for e in inc["logs"]] == sorted(e["ts"] for e in inc["logs"])
    assert all(e["host"] == HOST and e["kind"] == "log" for e in inc["logs"])
    # processes now, from the agent's sampler: this test's own python among them or not,
    # but real rows with a pid and a name
    now = inc["processes"]["now"]
    assert now["top"] and all(p["pid"] > 0 and p["name"] for p in now["top"])
    # the opening event of the alert is in the timeline
    assert any(e["kind"] == "alert" and e["data"].get("to") == "firing" for e in inc["timeline"])


def test_processes_at_the_start_are_kept_with_the_opening_event(fired: dict[str, Any]) -> None:
    broker = fired["broker"]
    # simulate on the host: a new episode opens now, when the host has sent processes
    [sim] = broker.ctl_json("simulate", "high_cpu_usage", "--host", HOST)["alert_ids"]
    inc = wait_for(lambda: (r := broker.ctl_json("incident", sim))["processes"]["start"] and r,
                   timeout=10, what="processes at the start")
    start = inc["processes"]["start"]
    assert start["top"] and all(p["pid"] > 0 for p in start["top"])
    assert start["ts"] <= inc["alert"]["started_at"] + 1
    # the stored opening event carries them (what survives a restart of the console)
    [opening] = [e for e in broker.ctl_json("search", f"alert:{sim} kind:alert")
                 if e["data"].get("from") == "inactive"]
    assert opening["data"]["processes"]["top"] == start["top"]


def test_notifications_filter_by_alert(fired: dict[str, Any]) -> None:
    broker, alert = fired["broker"], fired["alert"]
    assert all(n["receiver"] == "hook" for n in
               broker.ctl_json("notifications", "--alert", alert["id"]))
    assert broker.ctl_json("notifications", "--alert", "0000nothing") == []


def test_bad_input_gets_a_clear_error(fired: dict[str, Any]) -> None:
    broker = fired["broker"]
    out = broker.ctl("incident", "no-such-alert")
    assert out.returncode == 1 and "no alert 'no-such-alert'" in out.stderr
    out = broker.ctl("incident", "a b")
    assert out.returncode == 1 and "'alert_id'" in out.stderr and "not an id" in out.stderr
    out = broker.ctl("incident", fired["alert"]["id"], "--episode", "nope")
    assert out.returncode == 1 and "episode 'nope'" in out.stderr
    assert broker.proc.poll() is None  # still up


def test_ctl_prints_a_paragraph(fired: dict[str, Any]) -> None:
    out = fired["broker"].ctl("incident", fired["alert"]["id"])
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert first.startswith("CRITICAL procs_running on inc-1: firing since ")
    assert "Notifications: hook delivered." in first and "uptime_long" in first


def test_the_silences_and_inhibitions_that_touch_it_are_named(fired: dict[str, Any]) -> None:
    """Last in the module: it silences the alert and fires a host_down on its host."""
    broker, alert = fired["broker"], fired["alert"]
    sil = broker.ctl_json("silence", f"host={HOST}", "rule=procs_running", "--for", "1h",
                          "--comment", "deploy")
    broker.ctl_json("silence", "host=elsewhere", "--for", "1h")  # touches nothing here
    [down] = broker.ctl_json("simulate", "host_down", "--host", HOST)["alert_ids"]
    inc = wait_for(lambda: (r := broker.ctl_json("incident", alert["id"]))["inhibitions"] and r,
                   timeout=10, what="inhibited by host_down")
    assert [s["id"] for s in inc["silences"]] == [sil["id"]]
    assert inc["silences"][0]["comment"] == "deploy"
    [inh] = inc["inhibitions"]
    assert inh["source"] == down and inh["source_rule"] == "host_down"
    assert inh["source_host"] == HOST and inh["rule"]
    assert inc["alert"]["inhibited"] and inc["alert"]["silenced"] == [sil["id"]]
    text = broker.ctl("incident", alert["id"]).stdout
    assert f"Silenced by {sil['id']}" in text and "Inhibited by rule" in text
