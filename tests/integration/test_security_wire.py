"""What an eavesdropper on the wire sees: a raw TCP proxy on loopback between the clients
and the broker keeps every byte that crosses it. With keys no metric or host name is in
clear; without keys (the control case, so the check can fail) they are."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.procs import ENV, Broker, command, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration


class Tap:
    """Listens on 127.0.0.1, forwards every connection to ``port``, records both ways."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.seen = bytearray()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while not self.stop.is_set():
                ready, _, _ = select.select(list(peers), [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    with self.lock:
                        self.seen += data
                    peers[s].sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def bytes(self) -> bytes:
        with self.lock:
            return bytes(self.seen)

    def close(self) -> None:
        self.stop.set()
        self.server.close()


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def capture(broker: Broker, curve: list[str], ctl_curve: list[str]) -> bytes:
    """An agent publishes and monitor-ctl asks for hosts, both through taps."""
    ingest, control = (Tap(port_of(broker.endpoints[n])) for n in ("ingest", "control"))
    agent = start_agent(f"tcp://127.0.0.1:{ingest.port}", "--host", "wiretapped",
                        "--interval", "0.2", *curve)
    try:
        def hosts() -> str:
            out = subprocess.run([*command("monitor-ctl"), "--control",
                                  f"tcp://127.0.0.1:{control.port}", *ctl_curve, "--json",
                                  "hosts"], capture_output=True, text=True, timeout=30,
                                 env=ENV)
            assert out.returncode == 0, out.stderr
            return out.stdout
        wait_for(lambda: any("cpu.percent" in h["metrics"] for h in json.loads(hosts())),
                 timeout=15, what="the agent's metrics through the tap")
        return ingest.bytes() + control.bytes()
    finally:
        stop_proc(agent)
        ingest.close()
        control.close()


def test_with_keys_the_wire_holds_no_names_in_clear(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    for args in (["init"], ["generate", "wiretapped", "--role", "agent"],
                 ["generate", "ops", "--role", "viewer"]):
        out = subprocess.run([*command("monitor-ctl"), "keys", *args, "--dir", str(keys)],
                             capture_output=True, text=True, timeout=30, env=ENV)
        assert out.returncode == 0, out.stderr
    server = ["--curve-server-key", str(keys / "broker.key")]
    broker = Broker(tmp_path / "d", "--keys-dir", str(keys))
    try:
        seen = capture(broker, [*server, "--curve-secret",
                                str(keys / "clients" / "wiretapped.key_secret")],
                       [*server, "--curve-secret", str(keys / "clients" / "ops.key_secret")])
    finally:
        broker.stop()
    assert len(seen) > 2000  # frames did cross the tap
    for clear in (b"cpu.percent", b"mem.percent", b"wiretapped", b"metrics"):
        assert clear not in seen, clear
    assert b"CURVE" in seen  # the greeting names the mechanism, nothing else is readable


def test_without_keys_the_same_tap_reads_everything(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "d")
    try:
        seen = capture(broker, [], [])
    finally:
        broker.stop()
    assert b"cpu.percent" in seen and b"wiretapped" in seen
