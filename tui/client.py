"""The live data source: one worker thread per broker owns its SUB and DEALER sockets.

The UI never touches a socket. Each ``BrokerLink`` runs in a Textual thread worker, follows
the Clone pattern (subscribe, ask for the snapshot, apply only frames with a newer ``pseq``),
coalesces metrics per host, heart-beats with ``status``, and on silence tears its sockets down,
backs off and resynchronises from a fresh snapshot. Its only way into the UI is
``post_message``; the UI's requests reach it through a thread-safe queue.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import zmq

from core import protocol
from tui.datasource import DataSource
from tui.messages import (
    AlertChanged,
    BrokerStatus,
    ConnectionState,
    EventReceived,
    HostChanged,
    MetricsUpdate,
    Reply,
    Snapshot,
)

FLUSH_S = 0.1        # metrics batches are posted at most 10 times a second
REQUEST_TIMEOUT_S = 5.0
MAX_BUFFER = 200_000  # frames held while a snapshot is in flight


def probe(control: str, timeout: float = 3.0) -> str | None:
    """None when the broker at ``control`` answers ``status``, else a line saying it did not.

    The CLI calls this before drawing anything, so a wrong address is a one-line error.
    """
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(control)
        sock.send(protocol.request("probe", "status"))
        if sock.poll(int(timeout * 1000)):
            return None
        return f"cannot reach broker at {control} (no reply in {timeout:g} s)"
    finally:
        sock.close(linger=0)
        ctx.term()


class LiveSource(DataSource):
    """Brokers reached over ZeroMQ: ``brokers`` maps a name to (control, publish) endpoints."""

    def __init__(self, brokers: dict[str, tuple[str, str]], timeout: float = 3.0,
                 heartbeat: float = 1.0) -> None:
        super().__init__()
        self.links = {name: BrokerLink(self, name, control, publish, timeout, heartbeat)
                      for name, (control, publish) in brokers.items()}

    @property
    def names(self) -> list[str]:
        return list(self.links)

    def start(self) -> None:
        assert self.app is not None
        for link in self.links.values():
            self.app.run_worker(link.run, name=f"broker {link.name}", group=f"broker:{link.name}",
                                thread=True, exclusive=True, exit_on_error=False)

    def stop(self) -> None:
        for link in self.links.values():
            link.stopping.set()

    def request(self, op: str, args: dict[str, Any], brokers: list[str] | None = None) -> str:
        req_id = self.next_id()
        targets = [b for b in (brokers or []) if b in self.links]
        if not targets:
            up = [n for n, link in self.links.items() if link.connected]
            targets = [(up or list(self.links))[0]]
        for name in targets:
            self.links[name].requests.put((req_id, op, args))
        return req_id


class BrokerLink:
    def __init__(self, source: LiveSource, name: str, control: str, publish: str,
                 timeout: float, heartbeat: float) -> None:
        self.source, self.name = source, name
        self.control, self.publish = control, publish
        self.timeout, self.heartbeat = timeout, heartbeat
        self.requests: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
        self.stopping = threading.Event()
        self.connected = False
        self.resyncs = 0
        self._worker: Any = None

    def post(self, message: Any) -> None:
        self.source.post(message)

    def stopped(self) -> bool:
        worker = self._worker
        return self.stopping.is_set() or (worker is not None and worker.is_cancelled)

    def run(self) -> None:
        """The thread body: connect, sync, follow; on silence back off and start again."""
        from textual.worker import NoActiveWorker, get_current_worker

        try:
            self._worker = get_current_worker()
        except NoActiveWorker:  # a plain thread (tests, benchmarks)
            self._worker = None
        ctx = zmq.Context()
        backoff, ever = 0.5, False
        try:
            while not self.stopped():
                state = "reconnecting" if ever else "connecting"
                self.post(ConnectionState(self.name, state, f"{state} to {self.control}"))
                if Session(self, ctx).run():
                    ever, backoff = True, 0.5
                elif not ever:
                    self.post(ConnectionState(
                        self.name, "unreachable",
                        f"cannot reach broker at {self.control} (no reply in {self.timeout:g} s)"))
                self.connected = False
                if self.stopping.wait(backoff):
                    break
                backoff = min(backoff * 2, 10.0)
        finally:
            ctx.destroy(linger=0)


class Session:
    """One connection to a broker: from the snapshot until the broker falls silent."""

    def __init__(self, link: BrokerLink, ctx: zmq.Context[Any]) -> None:
        self.link = link
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, 100_000)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.dealer = ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.pseq = -1
        self.snap_id: str | None = None
        self.buffer: list[dict[str, Any]] = []
        self.batch: dict[str, tuple[float, dict[str, float]]] = {}
        self.pending: dict[str, tuple[str, float]] = {}  # req id -> (op, sent at)
        self.status_sent: float | None = None
        self.last_heard = time.monotonic()
        self.ids = 0

    def send(self, op: str, req_id: str | None = None, **args: Any) -> str:
        if req_id is None:
            self.ids += 1
            req_id = f"{self.link.name}:{op}:{self.ids}"
        self.dealer.send(protocol.request(req_id, op, **args))
        return req_id

    def run(self) -> bool:
        """True once connected (then the broker went silent), False if it never answered."""
        link = self.link
        try:
            self.sub.connect(link.publish)
            self.dealer.connect(link.control)
            self.snap_id = self.send("snapshot")
            started = time.monotonic()
            poller = zmq.Poller()
            poller.register(self.sub, zmq.POLLIN)
            poller.register(self.dealer, zmq.POLLIN)
            next_flush = next_beat = time.monotonic()
            while not link.stopped():
                events = dict(poller.poll(50))
                now = time.monotonic()
                if self.sub in events:
                    self.drain_sub()
                if self.dealer in events:
                    self.drain_replies()
                if not link.connected:
                    if now - started > link.timeout:
                        return False
                    continue
                self.send_user_requests()
                if now >= next_flush:
                    self.flush()
                    next_flush = now + FLUSH_S
                if now >= next_beat and self.status_sent is None:
                    self.status_sent = now
                    self.send("status")
                    next_beat = now + link.heartbeat
                if self.status_sent is not None and now - self.status_sent > link.timeout \
                        and now - self.last_heard > link.timeout:
                    link.post(ConnectionState(link.name, "reconnecting",
                                              f"lost {link.control}: no reply in {link.timeout:g} s"))
                    return True
                self.expire_requests(now)
            return link.connected
        finally:
            self.sub.close(linger=0)
            self.dealer.close(linger=0)

    # ---------------------------------------------------------------- publish stream
    def drain_sub(self) -> None:
        for _ in range(5000):
            try:
                parts = self.sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                frame = protocol.decode(parts)
            except protocol.ProtocolError:
                continue  # the broker validated it; a bad frame here is not ours to fix
            self.last_heard = time.monotonic()
            if self.snap_id is not None:
                if len(self.buffer) < MAX_BUFFER:
                    self.buffer.append(frame)
                continue
            self.apply(frame)

    def apply(self, frame: dict[str, Any]) -> None:
        pseq = frame.get("pseq")
        if isinstance(pseq, int):
            if pseq <= self.pseq:
                if pseq < self.pseq - 1000:  # the broker restarted: its counter began again
                    self.resync()
                return
            if pseq > self.pseq + 1 and self.pseq >= 0:
                self.pseq = pseq
                self.resync()  # frames were lost: the Clone pattern says fetch state again
                return
            self.pseq = pseq
        name, kind = self.link.name, frame["kind"]
        if kind == "metrics":
            old = self.batch.get(frame["host"])
            metrics = frame["metrics"] if old is None else {**old[1], **frame["metrics"]}
            self.batch[frame["host"]] = (frame["ts"], metrics)
            return
        self.flush()  # keep order between metrics and what follows them
        if kind == "alert":
            self.link.post(AlertChanged(name, frame["alert"]))
        elif kind == "event":
            self.link.post(EventReceived(name, frame["event"]))
        elif kind == "hello":
            self.link.post(HostChanged(name, frame["host"], "hello", frame["ts"],
                                       frame.get("info") or {}))
        elif kind == "host":
            self.link.post(HostChanged(name, frame["host"], frame["status"], frame["ts"],
                                       frame.get("info") or {}))

    def flush(self) -> None:
        if self.batch:
            batch, self.batch = self.batch, {}
            self.link.post(MetricsUpdate(self.link.name, batch))

    def resync(self) -> None:
        if self.snap_id is None:
            self.link.resyncs += 1
            self.flush()
            self.snap_id = self.send("snapshot")

    # ---------------------------------------------------------------- control replies
    def drain_replies(self) -> None:
        link = self.link
        while True:
            try:
                data = self.dealer.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                reply = protocol.unpack(data)
                req_id = reply["id"]
            except (protocol.ProtocolError, KeyError, TypeError):
                continue
            self.last_heard = time.monotonic()
            if req_id == self.snap_id:
                self.snap_id = None
                if not reply.get("ok"):
                    continue
                snap = reply["result"]
                self.pseq = int(snap.get("pseq", 0))
                link.post(Snapshot(link.name, snap))
                if not link.connected:
                    link.connected = True
                    link.post(ConnectionState(link.name, "connected", link.control))
                buffered, self.buffer = self.buffer, []
                for frame in buffered:
                    self.apply(frame)
            elif req_id.startswith(f"{link.name}:status:"):
                self.status_sent = None
                if reply.get("ok") and isinstance(reply.get("result"), dict):
                    link.post(BrokerStatus(link.name, reply["result"]))
            elif req_id in self.pending:
                op, _ = self.pending.pop(req_id)
                link.post(Reply(req_id, op, bool(reply.get("ok")), reply.get("result"),
                                str(reply.get("error") or ""), link.name))

    def send_user_requests(self) -> None:
        while True:
            try:
                req_id, op, args = self.link.requests.get_nowait()
            except queue.Empty:
                return
            self.pending[req_id] = (op, time.monotonic())
            self.send(op, req_id, **args)

    def expire_requests(self, now: float) -> None:
        for req_id, (op, sent) in list(self.pending.items()):
            if now - sent > REQUEST_TIMEOUT_S:
                del self.pending[req_id]
                self.link.post(Reply(req_id, op, False, error=f"{op}: no reply from "
                                     f"{self.link.control} in {REQUEST_TIMEOUT_S:g} s",
                                     source=self.link.name))
