"""Host labels: set on the agent, they select rules, pick a route and feed silences."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify_servers import Recorder
from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def hooks() -> Iterator[dict[str, Recorder]]:
    recs = {"db": Recorder(), "web": Recorder()}
    yield recs
    for r in recs.values():
        r.close()


def test_labels_select_the_rule_and_reach_the_route(tmp_path: Path,
                                                    hooks: dict[str, Recorder]) -> None:
    conf = tmp_path / "broker.toml"
    conf.write_text(f'''
[[rule]]
name = "db_cores"
kind = "threshold"
metric = "cpu.count"
op = ">="
critical = 1
hosts = ["team=db"]

[[receiver]]
name = "db"
type = "webhook"
url = "{hooks['db'].url}"

[[receiver]]
name = "web"
type = "webhook"
url = "{hooks['web'].url}"

[[route]]
receiver = "web"
match = {{ team = "web" }}
group_wait = "0s"

[[route]]
receiver = "db"
match = {{ team = "db" }}
group_wait = "0s"
''')
    agent_conf = tmp_path / "agent.toml"
    agent_conf.write_text('[agent]\nlabels = { env = "prod", team = "web" }\n')
    broker = Broker(tmp_path / "data", "--config", str(conf))
    agents = [
        # the flag overrides the file's team: this host is team=db, env=prod
        start_agent(broker.endpoints["ingest"], "--host", "db-1", "--interval", "0.2",
                    "--config", str(agent_conf), "--label", "team=db"),
        start_agent(broker.endpoints["ingest"], "--host", "web-1", "--interval", "0.2",
                    "--config", str(agent_conf)),
    ]
    try:
        req = hooks["db"].wait_for(1, timeout=20)[0]
        alert = json.loads(req["body"])["alerts"][0]
        assert alert["labels"]["host"] == "db-1"
        assert alert["labels"]["team"] == "db" and alert["labels"]["env"] == "prod"
        # (the broker holds a new host's first frame, its first hello: the next one counts)
        hosts = {h["host"]: h for h in wait_for(
            lambda: (lambda hs: hs if len(hs) == 2 else [])(
                [h for h in broker.ctl_json("hosts") if h["info"].get("labels")]),
            timeout=10, what="both hosts with their hello labels")}
        assert hosts["web-1"]["labels"] == {"env": "prod", "team": "web"}
        assert hosts["web-1"]["info"]["labels"] == {"env": "prod", "team": "web"}
        # the rule selects team=db only: web-1 has no alert, and its hook heard nothing
        alerts = broker.ctl_json("alerts")
        assert {a["host"] for a in alerts if a["rule"] == "db_cores"} == {"db-1"}
        assert hooks["web"].ok() == []
        # a silence by label matches the alert through the host's labels
        broker.ctl_json("silence", "team=db", "--for", "1h")
        silenced = wait_for(lambda: [a for a in broker.ctl_json("alerts")
                                     if a["rule"] == "db_cores" and a["silenced"]],
                            timeout=5, what="the silence to match")
        assert silenced[0]["host"] == "db-1"
    finally:
        for a in agents:
            stop_proc(a)
        broker.stop()


def test_bad_label_flag_is_refused_with_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "agent.toml"
    conf.write_text('[agent]\nlabels = { host = "x" }\n')
    agent = start_agent("tcp://127.0.0.1:1", "--config", str(conf))
    try:
        agent.wait(timeout=20)
        err = agent.stderr.read() if agent.stderr else ""
        assert agent.returncode == 2 and "label 'host' is reserved" in err
    finally:
        stop_proc(agent)
