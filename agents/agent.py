"""monitor-agent's process: collectors under a supervisor, one publisher thread.

The publisher thread owns the PUB socket (one socket per thread); collectors hand it
frames through a bounded queue. A PUB socket connected to several brokers sends every
frame to each of them, which is how an agent feeds a broker pair. ``seq`` counts frames
per host so the broker sees gaps; ``boot`` changes at every start; hello is repeated
because a PUB drops frames until a subscriber has joined (the slow joiner).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import zmq

from core import protocol
from core.clock import SYSTEM, Clock
from core.sockets import connect, make_socket
from core.supervisor import Supervisor

log = logging.getLogger(__name__)

HELLO_EVERY = 60.0
HELLO_EARLY = (0.0, 1.0, 3.0, 10.0)  # repeated early: the first frames may meet no subscriber


def stable_agent_id(host: str) -> str:
    """The same id across restarts of the agent for one host name on one machine."""
    node = f"{uuid.getnode():x}:{host}"
    return hashlib.sha1(node.encode()).hexdigest()[:16]


class Publisher:
    """Owns the PUB socket; everything else calls ``send`` (thread-safe, never blocks)."""

    def __init__(self, endpoints: list[str], *, sndhwm: int = 10_000,
                 ctx: zmq.Context[Any] | None = None, maxsize: int = 20_000,
                 curve: Any = None) -> None:
        if not endpoints:
            raise ValueError("an agent needs at least one broker endpoint")
        self.endpoints = endpoints
        self.curve = curve  # core.keys.ClientCurve or None
        self.sndhwm = sndhwm
        self.ctx = ctx or zmq.Context.instance()
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize)
        self.sent = 0
        self.dropped = 0
        self._seq: dict[str, int] = {}
        self._seq_lock = threading.Lock()

    def next_seq(self, host: str) -> int:
        with self._seq_lock:
            n = self._seq.get(host, -1) + 1
            self._seq[host] = n
            return n

    def hosts(self) -> list[str]:
        with self._seq_lock:
            return list(self._seq)

    def flush(self, timeout: float) -> bool:
        """Wait (bounded) until the queue has gone to the socket."""
        deadline = time.monotonic() + timeout
        while self.queue.qsize() and time.monotonic() < deadline:
            time.sleep(0.01)  # poll
        return not self.queue.qsize()

    def send(self, frame: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(frame)
        except queue.Full:
            self.dropped += 1

    def run(self, stop: threading.Event) -> None:
        sock = make_socket(self.ctx, zmq.PUB, curve=self.curve, linger=1000,
                           sndhwm=self.sndhwm, heartbeat=True,
                           maxmsgsize=64 * 1024)  # a PUB only receives subscriptions
        try:
            connect(sock, self.endpoints)
            while not stop.is_set():
                try:
                    frame = self.queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    protocol.send_frame(sock, frame, zmq.NOBLOCK)
                    self.sent += 1
                except zmq.Again:
                    self.dropped += 1  # past the HWM: the broker has been away too long
        finally:
            sock.close()


class Agent:
    """Collect and publish for this host, or for a simulated fleet."""

    def __init__(self, endpoints: list[str], *, host: str | None = None, interval: float = 1.0,
                 clock: Clock = SYSTEM, simulate: int = 0, seed: int = 0,
                 log_files: list[str] | None = None, incidents: bool = True,
                 ctx: zmq.Context[Any] | None = None, curve: Any = None) -> None:
        self.host = host or socket.gethostname()
        self.interval = interval
        self.clock = clock
        self.simulate = simulate
        self.seed = seed
        self.incidents = incidents
        self.log_files = log_files or []
        self.boot = uuid.uuid4().hex[:12]
        self.publisher = Publisher(endpoints, ctx=ctx, curve=curve)
        self.supervisor = Supervisor("agent", clock=clock, on_restart=self._on_restart)
        self.restarts: list[dict[str, Any]] = []

    # ------------------------------------------------------------ frames

    def _frame(self, build: Callable[..., dict[str, Any]], host: str, *args: Any,
               **kw: Any) -> dict[str, Any]:
        return build(host, stable_agent_id(host), self.boot, self.publisher.next_seq(host),
                     self.clock.time(), *args, **kw)

    def publish_metrics(self, host: str, metrics: dict[str, float]) -> None:
        if metrics:
            self.publisher.send(self._frame(protocol.metrics_frame, host, metrics))

    def publish_hello(self, host: str, info: dict[str, Any]) -> None:
        self.publisher.send(self._frame(protocol.hello_frame, host, info))

    def publish_log(self, host: str, source: str, level: str, message: str,
                    dropped: int = 0) -> None:
        self.publisher.send(self._frame(protocol.log_frame, host, source=source, level=level,
                                        message=message, dropped=dropped))

    def _on_restart(self, info: dict[str, Any]) -> None:
        self.restarts.append(info)
        self.publish_log(self.host, "monitor-agent", "error",
                         f"collector {info['child']} restarted: {info['error']}")

    # ------------------------------------------------------------ children

    def _loop(self, stop: threading.Event, step: Callable[[float], None]) -> None:
        """Call ``step(now)`` every interval, aligned to the clock, until stopped."""
        next_at = self.clock.monotonic()
        while not stop.is_set():
            step(self.clock.time())
            next_at += self.interval
            delay = next_at - self.clock.monotonic()
            if delay < 0:  # we fell behind (suspend, slow host): skip, do not burst
                next_at = self.clock.monotonic()
                delay = 0
            if stop.wait(delay):
                return

    def _hello_schedule(self) -> Callable[[float], bool]:
        """Hello at start, again a few times early (slow joiner), then every minute."""
        started = self.clock.monotonic()
        early = list(HELLO_EARLY)
        last = [-HELLO_EVERY]

        def due(_now: float) -> bool:
            elapsed = self.clock.monotonic() - started
            if early and elapsed >= early[0]:
                early.pop(0)
                last[0] = elapsed
                return True
            if elapsed - last[0] >= HELLO_EVERY:
                last[0] = elapsed
                return True
            return False
        return due

    def run_system(self, stop: threading.Event) -> None:
        from agents.system import SystemCollector

        collector = SystemCollector()
        info = SystemCollector.host_info() | {"interval": self.interval}
        hello_due = self._hello_schedule()

        def step(now: float) -> None:
            if hello_due(now):
                self.publish_hello(self.host, info)
            self.publish_metrics(self.host, collector.collect(now))
        try:
            self._loop(stop, step)
        finally:
            collector.close()

    def run_simulator(self, stop: threading.Event) -> None:
        from agents.simulate import FleetSimulator

        sim = FleetSimulator(self.simulate, seed=self.seed, start_ts=self.clock.time(),
                             incidents=self.incidents)
        hello_due = self._hello_schedule()

        def step(now: float) -> None:
            hello = hello_due(now)
            for host, metrics in sim.sample(now):
                if hello:
                    self.publish_hello(host, sim.host_info(host) | {"simulated": True})
                self.publish_metrics(host, metrics)
            for host, level, message, source in sim.log_lines(now):
                self.publish_log(host, source, level, message)
        self._loop(stop, step)

    def run_logs(self, stop: threading.Event) -> None:
        from agents.logs import LogFollower

        def emit(source: str, level: str, message: str, ts: float, dropped: int = 0) -> None:
            self.publish_log(self.host, source, level, message, dropped)
        LogFollower(self.log_files, emit, clock=self.clock).run(stop)

    def start(self) -> None:
        self.supervisor.add("publisher", self.publisher.run)
        if self.simulate:
            self.supervisor.add("simulator", self.run_simulator)
        else:
            self.supervisor.add("system", self.run_system)
        if self.log_files:
            self.supervisor.add("logs", self.run_logs)
        self.supervisor.start()

    def stop(self) -> None:
        """A clean stop: a goodbye frame per host (the broker shows ``stopped``, no page)."""
        for host in self.publisher.hosts():
            self.publisher.send(self._frame(protocol.goodbye_frame, host))
        self.publisher.flush(1.0)
        self.supervisor.stop()
