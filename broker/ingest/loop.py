"""The broker's core loop: ingest, state, alert evaluation, control and publish.

One thread owns the SUB (ingest), PUB (publish) and ROUTER (control) sockets, the state
cache and the alert engine, so a snapshot is consistent with the publish sequence number
by construction (the Clone pattern). Other threads hand it work through ``post`` (a deque
plus a wake-up pipe that the zmq poller watches), never by touching its sockets.

Publishing is done here, not by a bus handler, because the PUB socket belongs to this
thread: events emitted on this thread are published at once; events emitted elsewhere
(store errors, notifier results, restarts) reach this thread through ``post``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import zmq

from broker.events import Event, EventBus, make_event
from broker.ingest.state import LimitExceeded, State
from core import protocol
from core.clock import SYSTEM, Clock
from core.protocol import ProtocolError

log = logging.getLogger(__name__)

LOG_SEVERITY = {"fatal": "critical", "critical": "critical", "emerg": "critical",
                "alert": "critical", "error": "warning", "warn": "warning", "warning": "warning"}
REJECT_EVENTS_PER_S = 10


class BrokerCore:
    def __init__(self, endpoints: dict[str, str], bus: EventBus, *, clock: Clock = SYSTEM,
                 engine: Any = None, store: Any = None, host_timeout: float = 15.0,
                 ctx: zmq.Context[Any] | None = None, sndhwm: int = 100_000,
                 curve: Any = None) -> None:
        self.clock = clock
        self.bus = bus
        self.engine = engine
        self.store = store
        self.host_timeout = host_timeout
        self.state = State()
        self.pseq = 0
        self.started = clock.time()
        self.recent: deque[Event] = deque(maxlen=200)
        self.frames = 0
        self.rejected: Counter[str] = Counter()
        self._reject_budget = (0.0, 0)  # (second, events emitted in it)
        self._reject_suppressed = 0
        self._rate: deque[tuple[float, int]] = deque(maxlen=11)
        self._posted: deque[Callable[[], None]] = deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.thread_id: int | None = None
        self.control: Any = None  # set by broker.api.control.Control
        self.tick_hooks: list[Callable[[float], None]] = []  # run on the core thread
        self.curve = curve  # core.keys.ServerCurve: CURVE on all three sockets
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self.sub = self._bind(zmq.SUB, endpoints["ingest"])
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.setsockopt(zmq.RCVHWM, 100_000)
        self.pub = self._bind(zmq.PUB, endpoints["publish"], sndhwm=sndhwm)
        self.router = self._bind(zmq.ROUTER, endpoints["control"])
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 0)
        self.endpoints = {name: sock.getsockopt_string(zmq.LAST_ENDPOINT)
                          for name, sock in (("ingest", self.sub), ("publish", self.pub),
                                             ("control", self.router))}

    def _bind(self, kind: int, endpoint: str, sndhwm: int = 0) -> zmq.Socket[Any]:
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if sndhwm:
            sock.setsockopt(zmq.SNDHWM, sndhwm)
        if self.curve is not None:
            self.curve.apply(sock)
        try:
            sock.bind(endpoint)
        except zmq.ZMQError as exc:
            sock.close()
            raise OSError(f"cannot bind {endpoint}: {exc.strerror}") from None
        return sock

    # ------------------------------------------------------------ cross-thread entry points

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the core thread soon. Thread-safe, never blocks."""
        self._posted.append(fn)
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already

    def emit(self, event: Event) -> None:
        """Record, publish and route an event, from any thread."""
        if threading.get_ident() == self.thread_id:
            self._emit_local(event)
        else:
            self.post(lambda: self._emit_local(event))

    def _emit_local(self, event: Event) -> None:
        self.recent.append(event)
        self.bus.emit(event)
        if event["kind"] == "alert" and event["data"].get("alert"):
            frame = protocol.alert_frame(event["data"]["alert"], event["ts"], event)
        else:
            frame = protocol.event_frame(event)
        self.publish(frame)

    def publish(self, frame: dict[str, Any]) -> None:
        self.pseq += 1
        frame["pseq"] = self.pseq
        try:
            self.pub.send_multipart(protocol.encode(frame), zmq.NOBLOCK)
        except zmq.Again:
            pass  # PUB never blocks; a slow subscriber loses frames and resyncs by seq

    # ------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        self.thread_id = threading.get_ident()
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        poller.register(self.router, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        next_tick = self.clock.monotonic() + 1.0
        while not stop.is_set():
            timeout = max(0.0, min(next_tick - self.clock.monotonic(), 0.25))
            ready = dict(poller.poll(int(timeout * 1000)))
            if self.sub in ready:
                self._drain_ingest()
            if self.router in ready:
                self._drain_control()
            if self._wake_r in ready or self._posted:
                self._drain_posted()
            if self.clock.monotonic() >= next_tick:
                next_tick = self.clock.monotonic() + 1.0
                self.tick()

    def _drain_ingest(self, budget: int = 1000) -> None:
        for _ in range(budget):
            try:
                parts = self.sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.ingest(parts)

    def _drain_control(self, budget: int = 100) -> None:
        for _ in range(budget):
            try:
                parts = self.router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if self.control is not None and len(parts) >= 2:
                self.control.handle(parts[0], parts[-1])

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

    # ------------------------------------------------------------ ingest

    def ingest(self, parts: list[bytes]) -> None:
        now = self.clock.time()
        self.frames += 1
        try:
            frame = protocol.decode(parts, now)
            if frame["kind"] not in protocol.AGENT_KINDS:
                raise ProtocolError(f"kind '{frame['kind']}' is not accepted on ingest")
            self.state.check(frame)
        except (ProtocolError, LimitExceeded) as exc:
            self.reject(str(exc), parts)
            return
        hs, notes = self.state.touch(frame)
        host, kind = hs.host, frame["kind"]
        events: list[Event] = []
        if notes:
            events.extend(self._host_notes(hs, notes, frame, now))
        if kind == "metrics":
            metrics = frame["metrics"]
            self.state.apply_metrics(hs, metrics, frame.get("labels"))
            if self.store is not None:
                self.store.record_metrics(host, metrics, frame["ts"])
            if self.engine is not None:
                events.extend(self.engine.on_sample(host, metrics, hs.labels, now))
        elif kind == "log":
            level = frame["level"].lower()
            sev = LOG_SEVERITY.get(level, "info")
            events.append(make_event("log", frame["message"], ts=frame["ts"], host=host,
                                     severity=sev, data={"source": frame["source"],
                                                         "level": level,
                                                         "dropped": frame.get("dropped", 0)}))
            if self.engine is not None:
                events.extend(self.engine.on_log(host, level, frame["message"],
                                                 frame["source"], now))
        elif kind == "hello":
            if frame["info"] != hs.info:
                hs.info = frame["info"]
                self.publish(protocol.host_frame(host, "hello", now, hs.info))
        if kind != "log":  # a log line goes out once, as its stored event (topic l.<host>)
            self.publish(frame)
        for event in events:
            self._emit_local(event)

    def _host_notes(self, hs: Any, notes: list[str], frame: dict[str, Any], now: float
                    ) -> list[Event]:
        out = []
        if "new" in notes:
            out.append(make_event("host.up", f"host {hs.host} joined", ts=now, host=hs.host,
                                  data={"agent": hs.agent}))
        elif "up" in notes:
            out.append(make_event("host.up", f"host {hs.host} is reporting again", ts=now,
                                  host=hs.host))
        if "restart" in notes:
            out.append(make_event("host.restart", f"agent on {hs.host} restarted", ts=now,
                                  host=hs.host, data={"boot": hs.boot}))
        if "new" in notes or "up" in notes:
            self.publish(protocol.host_frame(hs.host, "up", now, hs.info))
        return out

    def reject(self, reason: str, parts: list[bytes]) -> None:
        category = _category(reason)
        self.rejected[category] += 1
        now = self.clock.time()
        second, spent = self._reject_budget
        if int(now) != second:
            second, spent = int(now), 0
        if spent >= REJECT_EVENTS_PER_S:
            self._reject_suppressed += 1
            self._reject_budget = (second, spent)
            return
        self._reject_budget = (second, spent + 1)
        size = sum(len(p) for p in parts)
        data = {"reason": reason, "bytes": size, "suppressed": self._reject_suppressed}
        self._reject_suppressed = 0
        log.warning("ingest rejected a %d byte frame: %s", size, reason)
        self._emit_local(make_event("ingest.rejected", f"rejected frame: {reason}", ts=now,
                                    severity="warning", data=data))

    # ------------------------------------------------------------ the 1 s tick

    def tick(self) -> None:
        now = self.clock.time()
        self._rate.append((now, self.frames))
        for hs in list(self.state.hosts.values()):
            if hs.status == "up" and now - hs.last_seen > self.host_timeout:
                self.state.mark_down(hs.host)
                self.publish(protocol.host_frame(hs.host, "down", now, hs.info))
                self._emit_local(make_event(
                    "host.down", f"host {hs.host} silent for {now - hs.last_seen:.0f}s",
                    ts=now, host=hs.host, severity="warning",
                    data={"last_seen": hs.last_seen}))
        if self.engine is not None:
            for event in self.engine.tick(now):
                self._emit_local(event)
        for hook in self.tick_hooks:
            hook(now)

    def ingest_rate(self) -> float:
        if len(self._rate) < 2:
            return 0.0
        (t0, f0), (t1, f1) = self._rate[0], self._rate[-1]
        return (f1 - f0) / (t1 - t0) if t1 > t0 else 0.0

    def close(self) -> None:
        for sock in (self.sub, self.pub, self.router):
            sock.close(linger=0)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._own_ctx:
            self.ctx.term()


def _category(reason: str) -> str:
    """A reason with its names and numbers blanked, so counters stay few and stable."""
    text = re.sub(r"'[^']*'", "'*'", reason.split(": ", 1)[0] if reason.startswith("bad msgpack")
                  else reason)
    return re.sub(r"[+-]?\d+(\.\d+)?", "N", text)[:100]
