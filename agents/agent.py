"""monitor-agent's process: collectors under a supervisor, one publisher thread.

The publisher thread owns the PUB socket (one socket per thread); collectors hand it
frames through a bounded queue. A PUB socket connected to several brokers sends every
frame to each of them, which is how an agent feeds a broker pair. ``seq`` counts frames
per host so the broker sees gaps; ``boot`` changes at every start; hello is repeated
because a PUB drops frames until a subscriber has joined (the slow joiner).
"""

from __future__ import annotations

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
# at stop, how long the goodbyes may wait for a broker that is not connected (an up broker
# has them at once; a broker down for longer would not see them anyway)
STOP_LINGER_MS = 250
_WAKE: dict[str, Any] = {}  # Publisher.wake's marker in the frame queue


def stable_agent_id(host: str) -> str:
    """The same id across restarts of the agent for one host name on one machine."""
    node = f"{uuid.getnode():x}:{host}"
    return _sha1(node.encode()).hexdigest()[:16]


def _sha1(data: bytes) -> Any:
    """SHA-1 from CPython's built-in module: ``hashlib`` loads OpenSSL, 3.6 MB of RSS the
    agent needs for nothing else (same digest either way)."""
    try:
        from _sha1 import sha1
    except ImportError:  # another Python: hashlib it is
        from hashlib import sha1
    return sha1(data)


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
        # A context of its own unless given one (the embedded agent shares the broker's):
        # terminated at stop, which returns once the goodbyes are on the wire
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
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

    def wake(self) -> None:
        """Stopping: end the wait for a frame now, not at the next poll (0.2 s)."""
        try:
            self.queue.put_nowait(_WAKE)
        except queue.Full:
            pass  # then the wait ends at once anyway

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
                if frame is _WAKE:
                    continue
                try:
                    protocol.send_frame(sock, frame, zmq.NOBLOCK)
                    self.sent += 1
                except zmq.Again:
                    self.dropped += 1  # past the HWM: the broker has been away too long
        finally:
            if stop.is_set():  # the goodbyes are sent: what is still queued may wait a little
                sock.close(linger=STOP_LINGER_MS)
                if self._own_ctx:
                    self.ctx.term()  # returns once the queued frames are on the wire
            else:  # a crash: the supervisor restarts run() on the same context
                sock.close()


class Agent:
    """Collect and publish for this host, or for a simulated fleet."""

    def __init__(self, endpoints: list[str], *, host: str | None = None, interval: float = 1.0,
                 clock: Clock = SYSTEM, simulate: int = 0, seed: int = 0,
                 log_files: list[str] | None = None, incidents: bool = True,
                 ctx: zmq.Context[Any] | None = None, curve: Any = None,
                 labels: dict[str, str] | None = None, top_processes: int = 10,
                 process_every: float = 5.0, control: str | None = None,
                 fast_rate: float = 10.0, sources: Any = None, extras: Any = None) -> None:
        self.host = host or socket.gethostname()
        self.labels = dict(labels or {})
        self.top_processes = top_processes  # 0 turns the process sampler off
        self.process_every = process_every
        self.control = control  # the broker's control endpoint: thresholds for the fast path
        self.fast_rate = fast_rate  # 0 turns the fast path off
        self.curve = curve
        self.fastpath: Any = None
        self.plugin_errors: list[str] = []
        self.closing = False  # set by stop(): only goodbye frames from then on
        self.said_hello = threading.Event()  # the first hello is out: other sources may speak
        self.sources = sources  # agents.sources.Sources: statsd, scrape targets, checks
        from agents.extras import Extras

        self.extras: Extras = extras or Extras()
        # plug-ins and journald: a child that keeps failing is given up alone (an event),
        # it never escalates to stopping the agent as the core children do
        self.optional = Supervisor("agent-optional", clock=clock, on_restart=self._on_restart,
                                   on_escalate=self._on_give_up)
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

    def publish_metrics(self, host: str, metrics: dict[str, float],
                        procs: list[list[Any]] | None = None, fast: bool = False) -> None:
        if metrics and not self.closing:
            labels = self.labels if host == self.host else None
            self.publisher.send(self._frame(protocol.metrics_frame, host, metrics, labels,
                                            procs, fast))

    def publish_hello(self, host: str, info: dict[str, Any]) -> None:
        if self.closing:
            return
        self.publisher.send(self._frame(protocol.hello_frame, host, info))

    def publish_log(self, host: str, source: str, level: str, message: str,
                    dropped: int = 0) -> None:
        if self.closing:
            return
        self.publisher.send(self._frame(protocol.log_frame, host, source=source, level=level,
                                        message=message, dropped=dropped))

    def _on_give_up(self, reason: str) -> None:
        self.publish_log(self.host, "monitor-agent", "error", f"given up: {reason}")

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
        from agents.extras import host_collectors
        from agents.system import SystemCollector

        x = self.extras
        collector = SystemCollector(*[v for v in (x.ignore_fstypes, x.ignore_mounts)
                                      if v is not None])
        extra = [(c, self._every(every)) for c, every in host_collectors(x)]
        info = SystemCollector.host_info() | {"interval": self.interval}
        if self.labels:
            info["labels"] = dict(self.labels)
        if self.plugin_errors:
            info["plugin_errors"] = list(self.plugin_errors)
        hello_due = self._hello_schedule()
        procs_due = self._every(self.process_every)
        sampler = None
        if self.top_processes:
            from agents.processes import ProcessSampler

            sampler = ProcessSampler(self.top_processes)

        def step(now: float) -> None:
            if hello_due(now):
                self.publish_hello(self.host, info)
                self.said_hello.set()
            procs = sampler.sample(now) if sampler is not None and procs_due() else None
            metrics = collector.collect(now)
            for c, due in extra:
                if due():
                    try:
                        metrics.update(c.collect(now))
                    except Exception as exc:  # an optional part never costs the frame
                        log.debug("collector %s failed: %s", c.name, exc)
            self.publish_metrics(self.host, metrics, procs)
        try:
            self._loop(stop, step)
        finally:
            collector.close()
            for c, _ in extra:
                c.close()

    def _every(self, period: float) -> Callable[[], bool]:
        """True on every k-th step, k = period / interval rounded (at least 1); the first
        True comes after k steps, since the sampler's baseline was just taken."""
        k = max(1, round(period / self.interval))
        count = [0]

        def due() -> bool:
            count[0] += 1
            return count[0] % k == 0
        return due

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

    def run_fastpath(self, stop: threading.Event) -> None:
        from agents.fastpath import FastPath

        assert self.control is not None
        self.fastpath = FastPath(self.control, self.host, self.labels,
                                 lambda m: self.publish_metrics(self.host, m, fast=True),
                                 rate=self.fast_rate, curve=self.curve)
        self.fastpath.run(stop)

    def start(self) -> None:
        self.supervisor.add("publisher", self.publisher.run)
        if self.simulate:
            self.supervisor.add("simulator", self.run_simulator)
        else:
            self.supervisor.add("system", self.run_system)
            if self.control and self.fast_rate > 0:
                self.supervisor.add("fastpath", self._after_hello(self.run_fastpath))
            self._add_optional()
            if self.sources is not None:
                from agents.sources import children

                for name, run in children(
                        self.sources, lambda m: self.publish_metrics(self.host, m),
                        lambda level, msg, src: self.publish_log(self.host, src, level, msg)):
                    self.supervisor.add(name, self._after_hello(run))
        if self.log_files:
            self.supervisor.add("logs", self.run_logs)
        self.supervisor.start()
        self.optional.start()

    def _after_hello(self, run: Callable[[threading.Event], None]
                     ) -> Callable[[threading.Event], None]:
        """Start ``run`` once the first hello is out: a broker admits a new host from its
        second frame on, so the first one should be the hello, which repeats anyway."""
        def wrapped(stop: threading.Event) -> None:
            while not self.said_hello.wait(0.1):
                if stop.is_set():
                    return
            run(stop)
        return wrapped

    def _add_optional(self) -> None:
        from agents.extras import JournaldChild, load_plugins, plugin_child

        early: list[tuple[str, str, str]] = []

        def event(level: str, msg: str, src: str) -> None:
            early.append((level, msg, src))

        def report(stop: threading.Event) -> None:
            # a PUB drops frames until the broker's subscription has arrived (the slow
            # joiner): say what failed at start-up once the connection has had a second
            if not stop.wait(1.0):
                for level, msg, src in early:
                    self.publish_log(self.host, src, level, msg)

        if self.extras.journald is not None:
            def emit(source: str, level: str, message: str, ts: float, dropped: int = 0
                     ) -> None:
                self.publish_log(self.host, source, level, message, dropped)
            self.optional.add("journald", self._after_hello(JournaldChild(
                self.extras.journald, emit, self.clock).run), restart="transient")
        for name, cls in load_plugins(self.extras.plugins, event).items():
            self.optional.add(f"plugin:{name}", self._after_hello(plugin_child(
                cls, self.interval, self.clock, lambda m: self.publish_metrics(self.host, m))))
        self.plugin_errors = [msg for _, msg, _ in early]  # also in hello, which repeats
        if early:
            self.optional.add("plugin-report", report, restart="transient")

    def stop(self) -> None:
        """A clean stop: a goodbye frame per host (the broker shows ``stopped``, no page).
        Nothing else is sent after it: a frame behind the goodbye would bring the host back
        up on the broker."""
        self.closing = True
        self.optional.stop()
        for host in self.publisher.hosts():
            self.publisher.send(self._frame(protocol.goodbye_frame, host))
        self.publisher.flush(1.0)
        self.supervisor.stop_event.set()  # every child stops now...
        self.publisher.wake()  # ...the publisher too, not at its next poll
        self.supervisor.stop()
