"""Keys and roles with real processes: who may publish, read, act; who did it; revoking."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.procs import ENV, Broker, command, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration


def keys_cmd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command("monitor-ctl"), "keys", *args], capture_output=True,
                          text=True, timeout=30, env=ENV)


class Fleet:
    """A keys directory with one key per role, and a broker started on it."""

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "keys"
        out = keys_cmd("init", "--dir", str(self.dir))
        assert out.returncode == 0, out.stderr
        assert "monitor-broker --keys-dir" in out.stdout  # the lines to paste
        for name, role in (("web-1", "agent"), ("bob", "viewer"), ("ann", "operator"),
                           ("root", "admin")):
            out = keys_cmd("generate", name, "--role", role, "--dir", str(self.dir))
            assert out.returncode == 0, out.stderr
        from core.keys import generate

        _, self.stranger = generate(tmp / "elsewhere", "stranger")  # never listed
        self.broker = Broker(tmp / "data", "--keys-dir", str(self.dir), "--host-timeout", "2s")

    def secret(self, name: str) -> str:
        return str(self.dir / "clients" / f"{name}.key_secret")

    def curve(self, name: str | None) -> list[str]:
        server = ["--curve-server-key", str(self.dir / "broker.key")]
        if name is None:
            return server
        return [*server, "--curve-secret", self.secret(name) if name != "stranger"
                else str(self.stranger)]

    def ctl(self, key: str | None, *args: str, timeout: str = "3"
            ) -> subprocess.CompletedProcess[str]:
        return self.broker.ctl("--timeout", timeout, *self.curve(key), *args)

    def ctl_json(self, key: str, *args: str) -> Any:
        out = self.ctl(key, "--json", *args)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def agent(self, key: str | None, host: str) -> subprocess.Popen[str]:
        curve = self.curve(key) if key else []
        return start_agent(self.broker.endpoints["ingest"], "--host", host, "--interval",
                           "0.2", *curve)

    def refused(self) -> dict[str, int]:
        return dict(self.ctl_json("bob", "status")["security"]["refused_by_reason"])


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    f = Fleet(tmp_path_factory.mktemp("fleet"))
    yield f
    f.broker.stop()


def hosts(fleet: Fleet) -> set[str]:
    return {h["host"] for h in fleet.ctl_json("bob", "hosts")}


def test_only_agents_with_listed_keys_are_seen_and_only_for_their_hosts(fleet: Fleet) -> None:
    agents = [fleet.agent("web-1", "web-1"), fleet.agent("web-1", "web-2"),
              fleet.agent(None, "plain"), fleet.agent("stranger", "intruder"),
              fleet.agent("bob", "viewer-host")]
    try:
        wait_for(lambda: "web-1" in hosts(fleet), timeout=15, what="the agent's own host")

        def all_counted() -> dict[str, Any]:
            status = fleet.ctl_json("bob", "status")
            why = status["security"]["refused_by_reason"]
            other = sum(n for r, n in status["ingest"]["rejected_by_reason"].items()
                        if "not allowed for key" in r)
            return {"plain": why.get("ingest: plain text or bad handshake", 0),
                    "unknown": why.get("ingest: unknown key", 0),
                    "role": why.get("ingest: role viewer", 0),
                    "other_host": other} if all([
                        why.get("ingest: plain text or bad handshake"),
                        why.get("ingest: unknown key"), why.get("ingest: role viewer"),
                        other]) else {}
        counts = wait_for(all_counted, timeout=15, what="every refusal counted in status")
        assert all(n >= 1 for n in counts.values()), counts
        assert hosts(fleet) == {"web-1"}  # web-2, plain, intruder, viewer-host: never seen
    finally:
        for a in agents:
            stop_proc(a)


def test_each_role_may_do_what_its_key_allows_and_refusals_name_the_role(fleet: Fleet
                                                                         ) -> None:
    sim = fleet.ctl_json("ann", "simulate", "high_cpu_usage", "--host", "sim-1")
    alert_id = sim["alert_ids"][0]
    for args, role in ((("ack", alert_id), "operator"),
                       (("silence", "host=sim-1", "--for", "1h"), "operator"),
                       (("reload",), "admin")):
        out = fleet.ctl("bob", *args)
        assert out.returncode == 1, out.stdout
        line = out.stderr.strip()
        assert "\n" not in line
        assert f"refused: key not authorised for role {role}" in line, line
    out = fleet.ctl("web-1", "alerts")  # an agent's key reads nothing
    assert out.returncode == 1 and "role viewer" in out.stderr
    # the operator acks, and the author is the key's name whatever the client claims
    assert fleet.ctl("ann", "ack", alert_id, "--author", "mallory").returncode == 0
    alert = next(a for a in fleet.ctl_json("bob", "alerts") if a["id"] == alert_id)
    assert alert["acked"] and alert["ack"]["author"] == "ann"
    assert "ann" in fleet.ctl("bob", "alerts").stdout  # the ACKED BY column
    silence = fleet.ctl_json("ann", "silence", "host=sim-1", "--for", "1h", "--author", "x")
    assert silence["author"] == "ann"
    assert fleet.ctl("ann", "reload").returncode == 1  # an operator may not reload
    assert fleet.ctl_json("root", "reload")["rules"] > 0

    def audit() -> list[dict[str, Any]]:
        return list(fleet.ctl_json("bob", "search", "kind:audit", "--limit", "100"))
    events = wait_for(lambda: (lambda ev: ev if len(ev) >= 8 else None)(audit()), timeout=10,
                      what="audit events in the store")
    seen = {(e["data"]["who"], e["data"]["op"], e["data"]["ok"]) for e in events}
    assert {("ann", "simulate", True), ("ann", "ack", True), ("bob", "ack", False),
            ("bob", "reload", False), ("ann", "reload", False),
            ("root", "reload", True)} <= seen, seen
    assert all(e["data"]["from"].startswith("127.") for e in events)
    refused = [e for e in events if not e["data"]["ok"]]
    assert refused and all(e["severity"] == "warning" for e in refused)


def test_revoking_a_key_cuts_its_live_session(fleet: Fleet) -> None:
    before = fleet.ctl_json("bob", "status")["security"]["keys"]
    out = keys_cmd("generate", "web-7", "--role", "agent", "--dir", str(fleet.dir))
    assert out.returncode == 0, out.stderr
    # a new key is let in within a second, no signal needed (ZeroMQ gives up on a client
    # it refused once, so the agent starts after that)
    wait_for(lambda: fleet.ctl_json("bob", "status")["security"]["keys"] == before + 1,
             timeout=5, what="the new key loaded")
    agent = fleet.agent("web-7", "web-7")
    try:
        wait_for(lambda: "web-7" in hosts(fleet), timeout=15, what="web-7 before revoking")
        out = keys_cmd("revoke", "web-7", "--dir", str(fleet.dir))
        assert out.returncode == 0 and "revoked web-7" in out.stdout
        listed = json.loads(subprocess.run(
            [*command("monitor-ctl"), "--json", "keys", "list", "--dir", str(fleet.dir)],
            capture_output=True, text=True, timeout=30, env=ENV).stdout)
        assert {"name": "web-7", "revoked": True}.items() <= \
            next(k for k in listed if k["name"] == "web-7").items()
        # the broker notices within a second and cuts the session: no frame gets through
        wait_for(lambda: any("ingest: revoked key" in r for r in fleet.refused()), timeout=10,
                 what="the revoked agent's reconnection refused")
        # and nothing gets through since: the host goes silent (host timeout 2 s here)
        wait_for(lambda: [h for h in fleet.ctl_json("bob", "hosts")
                          if h["host"] == "web-7" and h["status"] == "down"], timeout=10,
                 what="web-7 down after its key was revoked")
        assert agent.poll() is None  # the agent is still running and trying
        events = fleet.ctl_json("bob", "search", "kind:keys.reload")
        assert any("web-7" in e["message"] for e in events)
    finally:
        stop_proc(agent)


def test_an_unknown_key_hears_nothing_and_says_so_in_one_line(fleet: Fleet) -> None:
    out = fleet.ctl("stranger", "status", timeout="1")
    assert out.returncode == 1
    assert out.stderr.strip() == (f"monitor-ctl: error: no answer from broker at "
                                  f"{fleet.broker.endpoints['control']} in 1 s: the broker "
                                  "may not know this key (or is not running)")
    plain = fleet.broker.ctl("--timeout", "1", "status")
    assert plain.returncode == 1 and "needs --curve-server-key" in plain.stderr
    wait_for(lambda: fleet.refused().get("control: unknown key"), timeout=5,
             what="the unknown key counted")
