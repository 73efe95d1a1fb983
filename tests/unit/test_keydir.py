"""The keys directory and identities: layout, hosts per agent key, revocation, loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.auth import DOMAINS, Gate, is_loopback
from core import keydir
from core.config import ConfigError
from core.keydir import Identity
from core.ops import OPS, allows


def test_layout_generate_list_revoke(tmp_path: Path) -> None:
    d = tmp_path / "k"
    public, secret = keydir.init(d)
    assert public == d / "broker.key" and oct(secret.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in (d / "roles").iterdir()) == sorted(keydir.ROLES)
    listed, sec = keydir.generate(d, "web-1", "agent", ["web-1", "db-*"])
    assert listed == d / "roles" / "agent" / "web-1.key"
    assert sec == d / "clients" / "web-1.key_secret"
    keydir.generate(d, "ann", "operator")
    ring = keydir.load(d)
    by_name = {i.name: i for i in ring.by_key.values()}
    assert by_name["web-1"].hosts == ("web-1", "db-*") and by_name["ann"].role == "operator"
    with pytest.raises(ConfigError, match="already exists"):
        keydir.generate(d, "ann", "viewer")
    with pytest.raises(ConfigError, match="for agent keys only"):
        keydir.generate(d, "bo", "viewer", ["x"])
    with pytest.raises(ConfigError, match="role 'root'"):
        keydir.generate(d, "bo", "root")
    with pytest.raises(ConfigError, match="key name"):
        keydir.generate(d, "../evil", "viewer")
    before = keydir.stamp(d)
    keydir.revoke(d, "ann")
    assert keydir.stamp(d) != before
    ring = keydir.load(d)
    assert "ann" not in ring.names() and len(ring.revoked) == 1
    assert [e["name"] for e in keydir.entries(d) if e["revoked"]] == ["ann"]
    with pytest.raises(ConfigError, match="no key named 'ann'"):
        keydir.revoke(d, "ann")
    with pytest.raises(ConfigError, match="not a keys directory"):
        keydir.load(tmp_path)


def test_the_same_key_in_two_roles_is_an_error(tmp_path: Path) -> None:
    d = tmp_path / "k"
    keydir.init(d)
    listed, _ = keydir.generate(d, "bo", "viewer")
    (d / "roles" / "admin" / "bo2.key").write_bytes(listed.read_bytes())
    with pytest.raises(ConfigError, match="the same key is also"):
        keydir.load(d)


def test_gate_reload_reports_keys_taken_away(tmp_path: Path) -> None:
    d = tmp_path / "k"
    keydir.init(d)
    keydir.generate(d, "bo", "viewer")
    keydir.generate(d, "cy", "viewer")
    gate = Gate(d)
    assert gate.status()["keys"] == 2 and not gate.changed()
    keydir.revoke(d, "cy")
    assert gate.changed()
    assert gate.reload() == {"keys": 1, "removed": 1, "names": ["cy"]}
    cy_key = next(iter(keydir.load(d).revoked))
    assert gate.callback("control", cy_key) is False
    assert gate.refused == {"control: revoked key": 1}
    bo_key = next(k for k, i in gate.ring.by_key.items() if i.name == "bo")
    assert gate.callback("publish", bo_key) and not gate.callback("ingest", bo_key)


def test_agents_publish_their_own_hosts_only() -> None:
    agent = Identity("web-1", "agent")
    assert agent.may_publish("web-1") and not agent.may_publish("web-2")
    fleet = Identity("sim", "agent", ("sim-*", "db"))
    assert fleet.may_publish("sim-17") and fleet.may_publish("db")
    assert not fleet.may_publish("sim") and not fleet.may_publish("web-1")
    assert not Identity("ann", "operator").may_publish("ann")
    assert Identity("b2", "peer").may_publish("anything")


def test_authors_come_from_the_key_or_are_marked_local() -> None:
    assert Identity("ann", "operator").author("mallory") == "ann"
    local = Identity("local", "admin", keyless=True)
    assert local.author("ana", "127.0.0.1") == "local:ana"
    assert local.author("", "") == "local:unknown"
    assert local.author("a b;<x>", "::1") == "local:abx"
    assert local.author("eve", "10.0.0.7") == "insecure:eve@10.0.0.7"


def test_roles_follow_the_op_registry() -> None:
    assert allows("viewer", OPS["search"].role) and not allows("viewer", OPS["ack"].role)
    assert allows("operator", OPS["ack"].role) and not allows("operator", OPS["reload"].role)
    assert allows("admin", OPS["export"].role)
    assert not allows("agent", OPS["status"].role) and not allows("nobody", "viewer")
    assert "agent" not in DOMAINS["publish"] and "viewer" not in DOMAINS["ingest"]


@pytest.mark.parametrize(("endpoint", "loopback"), [
    ("tcp://127.0.0.1:5555", True), ("tcp://localhost:1", True), ("tcp://[::1]:5", True),
    ("ipc:///tmp/x", True), ("tcp://*:5555", False), ("tcp://0.0.0.0:1", False),
    ("tcp://10.1.2.3:1", False), ("tcp://monitor.example.com:1", False),
    ("tcp://eth0:5555", False)])
def test_is_loopback(endpoint: str, loopback: bool) -> None:
    assert is_loopback(endpoint) is loopback
