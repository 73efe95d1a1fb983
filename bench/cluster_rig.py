"""The broker pair bench_cluster drives: two brokers on fixed ports listing each other
(a restart keeps them, as deployed brokers do), their config, and the round-trip ceiling.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import zmq

from core import protocol
from tests.procs import Broker, wait_for


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))] if s else float("nan")


def ceiling_rtt(n: int = 300) -> list[float]:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    out = []

    def serve() -> None:
        for _ in range(n):
            ident, payload = router.recv_multipart()
            router.send_multipart([ident, payload])
    t = threading.Thread(target=serve)
    t.start()
    for _ in range(n):
        t0 = time.perf_counter()
        dealer.send(protocol.pack({"x": 1}))
        dealer.recv()
        out.append((time.perf_counter() - t0) * 1000)
    t.join()
    dealer.close(0)
    router.close(0)
    ctx.term()
    return out


def config(tmp: Path, name: str, hook: str = "") -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"{name}.toml"
    text = f'[cluster]\nname = "{name}"\nanti_entropy = "2s"\nclaim_lease = "3s"\n'
    if hook:
        text += f'''
[[rule]]
name = "bench_high"
kind = "threshold"
metric = "bench.value"
op = ">"
critical = 50.0
for = "0s"

[[receiver]]
name = "hook"
type = "webhook"
url = "{hook}"
retry_initial = "0.2s"
retry_max = "1s"

[[route]]
receiver = "hook"
group_by = ["host", "alertname"]
group_wait = "0s"
group_interval = "1s"
'''
    path.write_text(text)
    return str(path)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def fixed(tmp: Path, name: str, hook: str, ports: dict[str, list[int]]) -> Broker:
    """Broker ``name`` on its own fixed ports (a restart keeps them, as a deployed broker
    does), peering with the other one."""
    other = "b" if name == "a" else "a"
    ing, pub, ctl = ports[name]
    return Broker(tmp / name, "--config", config(tmp, name, hook),
                  "--ingest", f"tcp://127.0.0.1:{ing}", "--publish", f"tcp://127.0.0.1:{pub}",
                  "--control", f"tcp://127.0.0.1:{ctl}",
                  "--peer", f"tcp://127.0.0.1:{ports[other][2]}")


def pair(tmp: Path, hook: str = "") -> tuple[Broker, Broker]:
    p = free_ports(6)
    ports = {"a": p[:3], "b": p[3:]}
    a, b = fixed(tmp, "a", hook, ports), fixed(tmp, "b", hook, ports)
    a.ports = b.ports = ports  # type: ignore[attr-defined]
    wait_for(lambda: all(p["state"] == "up" for x in (a, b)
                         for p in x.ctl_json("cluster")["peers"]) and
             all(x.ctl_json("cluster")["peers"] for x in (a, b)), timeout=20, what="pairing")
    return a, b
