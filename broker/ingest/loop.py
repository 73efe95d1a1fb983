"""The broker's core loop: ingest, state, alert evaluation, control and publish.

One thread owns the SUB (ingest), PUB (publish) and ROUTER (control) sockets, the state
cache and the alert engine (through the pure frame handler, broker/ingest/handler.py), so
a snapshot is consistent with the publish sequence number by construction (the Clone
pattern). Other threads hand it work through ``post`` (a deque plus a wake-up pipe that
the zmq poller watches), never by touching its sockets. Publishing is done here, since the
PUB socket belongs to this thread: events emitted elsewhere (store errors, notifier
results, restarts) reach it through ``post``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import zmq

from broker.bus import EventBus
from broker.events import Event
from broker.ingest.handler import FrameHandler, Out
from broker.ingest.handoff import run_and_wait
from broker.ingest.receive import drain, drain_keyed
from broker.ingest.seams import AlertEngine, MetricSink, RequestHandler
from broker.ingest.state import State, stamp_processes
from broker.ingest.wanted import Wanted
from broker.limits import Limits
from core import protocol
from core.clock import SYSTEM, Clock
from core.sockets import bind, make_socket

if TYPE_CHECKING:
    from broker.auth import Gate
    from core.keydir import Identity

_MORE = zmq.SNDMORE | zmq.NOBLOCK
FLEET_KINDS = ("alert", "event", "digest")  # published on protocol.FLEET_TOPICS
STATE_KINDS = frozenset({"alert", "ack", "unack", "silence", "unsilence"})
DIGEST_TOPIC = protocol.topic_for(protocol.digest_frame({}, 0.0))


class BrokerCore:
    def __init__(self, endpoints: dict[str, str], bus: EventBus, *, clock: Clock = SYSTEM,
                 engine: AlertEngine | None = None, store: MetricSink | None = None,
                 host_timeout: float = 15.0, ctx: zmq.Context[Any] | None = None,
                 sndhwm: int = 100_000, gate: Gate | None = None,
                 limits: Limits | None = None, probation: bool = False) -> None:
        self.clock = clock
        self.bus = bus
        self.engine = engine
        lim = limits or Limits()
        self.state = State(lim.max_hosts, lim.max_series_per_host,
                           max_series_total=lim.max_series, probation=probation)
        self.handler = FrameHandler(self.state, engine=engine, sink=store,
                                    host_timeout=host_timeout, limits=lim)
        self.pseq = 0
        self.nseq = 0  # publish sequence of the fleet-wide frames (see publish)
        self.wanted = Wanted()  # the metrics topics some client subscribes to
        self.started = clock.time()
        self.recent: deque[Event] = deque(maxlen=200)
        self._rate: deque[tuple[float, int]] = deque(maxlen=11)
        self._posted: deque[Callable[[], None]] = deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.thread_id: int | None = None
        self._stop = threading.Event()  # the loop's stop, once it runs (see call)
        self._control: RequestHandler | None = None
        self.tick_hooks: list[Callable[[float], None]] = []  # run on the core thread
        self.listeners: list[Callable[[Event], None]] = []  # see every event, core thread
        # run on the core thread after a loop turn that emitted an alert-state change
        self.change_hooks: list[Callable[[], None]] = []
        self.changed = False
        self.gate = gate  # keys and roles (broker/auth.py); None: keyless, no checks
        self._keyed = gate is not None and gate.keyed
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self.sub = self._bind(zmq.SUB, endpoints["ingest"], "ingest", rcvhwm=100_000,
                              subscribe=b"", maxmsgsize=protocol.MAX_INGEST_MSG)
        # XPUB: a PUB that also tells us what clients subscribe to (broker/ingest/wanted.py)
        self.pub = self._bind(zmq.XPUB, endpoints["publish"], "publish", sndhwm=sndhwm,
                              maxmsgsize=protocol.MAX_REQUEST_MSG)
        self.router = self._bind(zmq.ROUTER, endpoints["control"], "control",
                                 maxmsgsize=protocol.MAX_REQUEST_MSG)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 0)
        self.sockets = {"ingest": self.sub, "publish": self.pub, "control": self.router}
        self.endpoints = {name: sock.getsockopt_string(zmq.LAST_ENDPOINT)
                          for name, sock in self.sockets.items()}
        self.monitors: dict[zmq.Socket[Any], str] = {}
        for name, sock in self.sockets.items():
            mon = gate.monitor(sock) if gate is not None else None
            if mon is not None:
                self.monitors[mon] = name

    @property
    def frames(self) -> int:
        return self.handler.frames

    @property
    def rejected(self) -> Counter[str]:
        return self.handler.rejected

    def attach_control(self, handler: RequestHandler) -> None:
        """Route control requests to ``handler`` (broker/api/control.Control)."""
        self._control = handler

    def _bind(self, kind: int, endpoint: str, domain: str, **options: Any) -> zmq.Socket[Any]:
        sock = make_socket(self.ctx, kind, **options)
        if self.gate is not None:  # CURVE keys and the ZAP domain (the socket's name)
            self.gate.apply(sock, domain)
        bind(sock, endpoint)
        return sock

    # ------------------------------------------------------------ cross-thread entry points

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the core thread soon. Thread-safe, never blocks."""
        self._posted.append(fn)
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already

    def call(self, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Run ``fn`` on the core thread and wait for its result (from another thread)."""
        if threading.get_ident() == self.thread_id:
            return fn()
        return run_and_wait(self.post, self._stop, fn, timeout)

    def emit(self, event: Event) -> None:
        """Record, publish and route an event, from any thread."""
        if threading.get_ident() == self.thread_id:
            self._emit_local(event)
        else:
            self.post(lambda: self._emit_local(event))

    def emit_stopped(self, event: Event) -> None:
        """Emit from the caller's thread once the loop has stopped (``broker.stop``), after
        what was posted and not run before the loop stopped (a ``broker.start`` posted just
        before a quick stop was lost: the log began with ``broker.stop``)."""
        self._drain_posted()
        self._emit_local(event)

    def _emit_local(self, event: Event) -> None:
        if event["kind"] == "alert" and event["data"].get("from") == "inactive":
            stamp_processes(self.state.hosts, event)
        self.recent.append(event)
        if event["kind"] in STATE_KINDS:
            self.changed = True
        self.bus.emit(event)
        for listener in self.listeners:
            listener(event)
        if event["kind"] == "alert" and event["data"].get("alert"):
            frame = protocol.alert_frame(event["data"]["alert"], event["ts"], event)
        else:
            frame = protocol.event_frame(event)
        self.publish(frame)

    def publish(self, frame: dict[str, Any]) -> None:
        """Send a frame with its ``pseq``; a frame on a fleet-wide topic (alert, event, log
        line, digest: ``protocol.FLEET_TOPICS``) also carries ``nseq``, the sequence of
        those alone: a console that follows the metrics and host frames of a few hosts only
        still sees every nseq, so a gap there means frames were lost."""
        self.pseq += 1
        frame["pseq"] = self.pseq
        if frame["kind"] in FLEET_KINDS:
            self.nseq += 1
            frame["nseq"] = self.nseq
        else:
            frame.pop("nseq", None)  # only the broker numbers frames
        topic, data = protocol.encode(frame)
        try:  # two sends, not send_multipart (its flag arithmetic on enums: 2.2 -> 0.9 us)
            self.pub.send(topic, _MORE)
            self.pub.send(data, zmq.NOBLOCK)
        except zmq.Again:
            pass  # PUB never blocks; a slow subscriber loses frames and resyncs by seq

    def forward(self, frame: dict[str, Any] | None, payload: bytes,
                topic: bytes | None = None) -> None:
        """Republish a received frame: its payload with ``pseq`` spliced in, not re-packed
        (``topic``: the frame's, when the caller has it already; ``frame`` None: the
        steady lane's, decoded again in the rare case it must be re-packed)."""
        self.pseq += 1
        if frame is None:
            assert topic is not None
        elif topic is None:
            topic = protocol.topic_for(frame)
        if not self.wanted.wants(topic):
            return  # no client follows this host's metrics
        try:
            data = protocol.with_pseq(payload, self.pseq)
        except ValueError:
            if frame is None:
                frame = protocol.unpack(payload)
            frame["pseq"] = self.pseq
            data = protocol.pack(frame)
        try:
            self.pub.send(topic, _MORE)
            self.pub.send(data, zmq.NOBLOCK)
        except zmq.Again:
            pass  # PUB does not block: at the HWM the whole message is dropped

    def carry_out(self, out: Out) -> None:
        for what, item in out:
            if what == "forward":
                self.forward(*item)
            elif what == "publish":
                self.publish(item)
            else:
                self._emit_local(item)

    # ------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        self.thread_id = threading.get_ident()
        self._stop = stop
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.pub, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        for mon in self.monitors:
            poller.register(mon, zmq.POLLIN)
        next_tick = self.clock.monotonic() + 1.0
        while not stop.is_set():
            timeout = max(0.0, min(next_tick - self.clock.monotonic(), 0.25))
            ready = dict(poller.poll(int(timeout * 1000)))
            if self.sub in ready:
                self._drain_ingest()
            else:  # nothing waiting: every frame sent so far is read (FrameHandler.tick)
                self.handler.caught_up = self.clock.time()
            if self.router in ready:
                self._drain_control()
            if self.pub in ready:
                self.drain_subscriptions()
            if self._wake_r in ready or self._posted:
                self._drain_posted()
            for mon, name in self.monitors.items():
                if mon in ready and self.gate is not None:
                    self.gate.on_monitor(name, mon)
            if self.clock.monotonic() >= next_tick:
                next_tick = self.clock.monotonic() + 1.0
                self.tick()
            if self.changed:
                self.changed = False
                for hook in self.change_hooks:
                    hook()

    def _drain_ingest(self, budget: int = 2000) -> None:
        """Take up to ``budget`` frames off the SUB socket and handle them (receive.py)."""
        (drain_keyed if self._keyed else drain)(self, budget)

    def ingest_at(self, parts: list[bytes], now: float) -> None:
        """One received message (keyless): a steady frame takes the short path
        (broker/ingest/lane.py), anything else the full one."""
        if len(parts) == 2:
            self.ingest_two(parts[0], parts[1], now)
        else:
            self.carry_out(self.handler.ingest(parts, now))

    def ingest_two(self, topic: bytes, payload: bytes, now: float) -> None:
        """A message of two parts: the steady lane, else the full path (receive.drain
        does the same inline)."""
        done = self.handler.lanes.take(payload, now)
        if done is None:
            self.ingest_full(topic, payload, now)
            return
        lane_topic, events = done
        self.forward(None, payload, lane_topic)
        for event in events:
            self._emit_local(event)

    def ingest_full(self, topic: bytes, payload: bytes, now: float) -> None:
        """A message of two parts through the full path (FrameHandler.ingest)."""
        self.carry_out(self.handler.ingest([topic, payload], now))

    def drain_subscriptions(self, budget: int = 1000) -> None:
        for _ in range(budget):
            try:
                self.wanted.update(self.pub.recv(zmq.NOBLOCK))
            except zmq.Again:
                return

    def _drain_control(self, budget: int = 100) -> None:
        from broker.auth import KEYLESS, Gate

        for _ in range(budget):
            try:
                frames = self.router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            if self._control is None or len(frames) < 2:
                continue
            who: Identity | None = KEYLESS
            if self.gate is not None:
                who = self.gate.identify(frames[-1], "control")
            if who is not None:
                self._control.handle(frames[0].bytes, frames[-1].bytes, who,
                                     Gate.address(frames[-1]))

    def rebind(self) -> None:
        """Cut every live session (a key was revoked): unbind and bind each socket again.
        Clients reconnect by themselves and pass ZAP again, or not."""
        for name, sock in self.sockets.items():
            endpoint = self.endpoints[name]
            try:
                sock.unbind(endpoint)
            except zmq.ZMQError:
                continue
            deadline = time.monotonic() + 2.0
            while True:  # the unbind completes on ZeroMQ's I/O thread: about a millisecond
                try:
                    sock.bind(endpoint)
                    break
                except zmq.ZMQError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.002)  # poll

    def reply(self, identity: bytes, payload: bytes) -> None:
        """Send a control reply; call on the core thread (workers go through ``post``)."""
        try:
            self.router.send_multipart([identity, payload], zmq.NOBLOCK)
        except zmq.ZMQError:
            pass  # the client went away

    def _drain_posted(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while self._posted:
            fn = self._posted.popleft()
            fn()

    # ------------------------------------------------------------ ingest and the 1 s tick

    def ingest(self, parts: list[bytes]) -> None:
        self.ingest_at(parts, self.clock.time())

    def reject(self, reason: str, parts: list[bytes]) -> None:
        self.carry_out(self.handler.reject(reason, parts, self.clock.time()))

    def ingest_push(self, host: str, metrics: dict[str, float],
                    labels: dict[str, str] | None) -> dict[str, Any]:
        """A sample pushed through the control socket (``monitor-ctl push``), on the core
        thread; raises ProtocolError or LimitExceeded (see FrameHandler.push)."""
        result, out = self.handler.push(host, metrics, labels, self.clock.time())
        self.carry_out(out)
        return result

    def forget(self, host: str, why: str) -> None:
        """Retire ``host`` (core thread): state, engine, an event; KeyError if unknown."""
        self.carry_out(self.handler.forget(host, self.clock.time(), why))

    def tick(self) -> None:
        now = self.clock.time()
        self._rate.append((now, self.frames))
        self.carry_out(self.handler.tick(now, self.wanted.any_for(DIGEST_TOPIC)))
        for hook in self.tick_hooks:
            hook(now)

    def ingest_rate(self) -> float:
        if len(self._rate) < 2:
            return 0.0
        (t0, f0), (t1, f1) = self._rate[0], self._rate[-1]
        return (f1 - f0) / (t1 - t0) if t1 > t0 else 0.0

    def close(self) -> None:
        if self.monitors:
            for sock in self.sockets.values():
                sock.disable_monitor()
        for sock in [*self.monitors, self.sub, self.pub, self.router]:
            sock.close(linger=0)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._own_ctx:
            self.ctx.term()
