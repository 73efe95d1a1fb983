"""CurveZMQ: an encrypted, authenticated broker lets in only the keys it knows."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.procs import ENV, Broker, command, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration


def keygen(directory: Path, name: str) -> tuple[Path, Path]:
    out = subprocess.run([*command("monitor-ctl"), "--json", "keys", "generate", name,
                          "--dir", str(directory)], capture_output=True, text=True,
                         timeout=30, env=ENV)
    assert out.returncode == 0, out.stderr
    paths = json.loads(out.stdout)
    return Path(paths["public"]), Path(paths["secret"])


def test_curve_broker_accepts_authorized_keys_only(tmp_path: Path) -> None:
    keys, authorized = tmp_path / "keys", tmp_path / "authorized"
    authorized.mkdir()
    broker_pub, broker_sec = keygen(keys, "broker")
    agent_pub, agent_sec = keygen(keys, "agent")
    ops_pub, ops_sec = keygen(keys, "ops")
    _, stranger_sec = keygen(keys, "stranger")
    for pub in (agent_pub, ops_pub):
        (authorized / pub.name).write_bytes(pub.read_bytes())
    assert oct(broker_sec.stat().st_mode & 0o777) == "0o600"
    again = subprocess.run([*command("monitor-ctl"), "keys", "generate", "broker", "--dir",
                            str(keys)], capture_output=True, text=True, timeout=30, env=ENV)
    assert again.returncode != 0 and "not overwriting" in again.stderr

    broker = Broker(tmp_path / "data", "--curve-secret", str(broker_sec),
                    "--authorized-keys", str(authorized))
    curve = ["--curve-server-key", str(broker_pub)]
    agent = start_agent(broker.endpoints["ingest"], "--host", "secure-host", "--interval",
                        "0.2", *curve, "--curve-secret", str(agent_sec))
    intruder = start_agent(broker.endpoints["ingest"], "--host", "intruder", "--interval",
                           "0.2", *curve, "--curve-secret", str(stranger_sec))
    try:
        def hosts() -> list[str]:
            out = broker.ctl("--json", *curve, "--curve-secret", str(ops_sec), "hosts")
            assert out.returncode == 0, out.stderr
            return [h["host"] for h in json.loads(out.stdout)]
        wait_for(lambda: "secure-host" in hosts(), timeout=10, what="authorized agent")
        # a plain-text client and a client with an unknown key both get nothing
        plain = broker.ctl("--timeout", "1", "status")
        assert plain.returncode == 1 and "no reply" in plain.stderr
        stranger = broker.ctl("--timeout", "1", *curve, "--curve-secret", str(stranger_sec),
                              "status")
        assert stranger.returncode == 1 and "no reply" in stranger.stderr
        assert "intruder" not in hosts()
    finally:
        stop_proc(agent)
        stop_proc(intruder)
        broker.stop()


def test_curve_flag_errors_are_one_line(tmp_path: Path) -> None:
    out = subprocess.run([*command("monitor-agent"), "--curve-server-key",
                          str(tmp_path / "missing.key")], capture_output=True, text=True,
                         timeout=30, env=ENV)
    assert out.returncode == 2 and "missing.key: cannot read key file" in out.stderr
    pub, _ = keygen(tmp_path, "b")
    out = subprocess.run([*command("monitor-broker"), "--curve-secret", str(pub),
                          "--data-dir", str(tmp_path / "d")], capture_output=True, text=True,
                         timeout=30, env=ENV)
    assert out.returncode == 1 and "this is a public key" in out.stderr


async def test_tui_connects_to_a_curve_broker(tmp_path: Path) -> None:
    from broker.system import MonitoringSystem
    from core.keys import ClientCurve, ServerCurve, load_keypair
    from tests.snapshots.frozen_app import until
    from tui.app import MonitorApp
    from tui.sources.live import LiveSource, probe
    from tui.widgets.host_table import HostTable

    broker_pub, broker_sec = keygen(tmp_path, "broker")
    ops_pub, ops_sec = keygen(tmp_path, "ops")
    authorized = tmp_path / "authorized"
    authorized.mkdir()
    (authorized / ops_pub.name).write_bytes(ops_pub.read_bytes())
    server = ServerCurve(load_keypair(broker_sec), authorized)
    ms = MonitoringSystem(tmp_path / "d", local_agent=True, interval=0.2, curve=server)
    ms.start()
    try:
        eps = ms.endpoints
        client = ClientCurve(server.keys.public, load_keypair(ops_sec))
        assert probe(eps["control"], timeout=1, curve=client) is None
        assert probe(eps["control"], timeout=0.5) is not None  # plain text gets nothing
        app = MonitorApp(LiveSource({"secure": (eps["control"], eps["publish"])},
                                    curve=client), author="tester", refresh_s=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.screen.query_one(HostTable)
            await until(pilot, lambda: len(table._shown) == 1, timeout=10, what="host row")
            # the row can be drawn from the snapshot before the link's state message lands
            await until(pilot, lambda: app.connections == {"secure": "connected"}, timeout=5,
                        what="connected state")
            assert app.connections == {"secure": "connected"}
    finally:
        ms.stop()
