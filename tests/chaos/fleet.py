"""Simulated hosts for the chaos suite: one PUB socket, one thread, N hosts' frames."""

from __future__ import annotations

import threading
import time
from typing import Any

import zmq

from core import protocol


class Fleet:
    """Hosts ``h00``..``hNN`` each sending ``cpu.percent`` every ``interval`` seconds, with
    the agent's identity (agent id, boot, seq) so gaps and restarts are real to the broker.
    ``cpu[host]`` sets a host's value; a host in ``quiet`` sends nothing."""

    def __init__(self, ingest: str, n: int = 20, interval: float = 0.2) -> None:
        self.hosts = [f"h{i:02d}" for i in range(n)]
        self.cpu: dict[str, float] = dict.fromkeys(self.hosts, 10.0)
        self.quiet: set[str] = set()
        self.seq: dict[str, int] = dict.fromkeys(self.hosts, 0)
        self.interval = interval
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.setsockopt(zmq.SNDHWM, 100_000)
        self.pub.connect(ingest)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now = time.time()
            for h in self.hosts:
                if h in self.quiet:
                    continue
                frame = protocol.metrics_frame(h, f"agent-{h}", "boot-1", self.seq[h], now,
                                               {"cpu.percent": self.cpu[h]})
                self.seq[h] += 1
                protocol.send_frame(self.pub, frame)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.pub.close()
        self.ctx.term()
