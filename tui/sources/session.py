"""One connection of a BrokerLink to its broker: from the snapshot until the broker falls silent.

Runs on the link's worker thread and owns its two sockets for its lifetime: the SUB of the
publish stream and the DEALER of control requests (Clone pattern, see tui/sources/live.py).

A fleet of up to VIEW_ABOVE hosts is followed whole. Past that the broker's snapshot comes
brief (no metrics) and the session follows a view: alerts, events, host changes, log lines
and the fleet digest (``protocol.FLEET_TOPICS``), plus the metrics and host frames of the
hosts the UI shows (``LiveSource.set_view``), exact topics per host, changed as the operator
scrolls, sorts or filters; the digest carries every host's status. Lost frames are found
by gaps in ``nseq`` then (every frame on a fleet-wide topic carries it), since other hosts'
frames leave gaps in ``pseq``. A fleet that grows past VIEW_ABOVE after the snapshot (the
console started first, or the broker restarted and its agents came back one by one) is
followed by a view from the first digest that lists more.

Frames reach the UI in batches (tui/sources/coalesce.py): one message a FLUSH_S, whatever
the storm.
"""

from __future__ import annotations

import queue
import time
from typing import TYPE_CHECKING, Any

import zmq

from core import protocol
from core.sockets import make_socket
from tui.messages import BrokerStatus, ConnectionState, Reply, Snapshot
from tui.sources.coalesce import FLUSH_S, Coalescer

if TYPE_CHECKING:
    from tui.sources.live import BrokerLink


unpack_reply = protocol.unpack_reply

MAX_REPLY_BYTES = protocol.MAX_REPLY_BYTES
REQUEST_TIMEOUT_S = 5.0
MAX_BUFFER = 200_000  # frames held while a snapshot is in flight
VIEW_ABOVE = 500  # past this many hosts, follow the UI's view plus the digest
MAX_VIEW = 1000  # hosts subscribed at most (a tall terminal shows a few hundred rows)


class Session:
    """One connection to a broker: from the snapshot until the broker falls silent."""

    def __init__(self, link: BrokerLink, ctx: zmq.Context[Any]) -> None:
        self.link = link
        curve = link.source.curve
        self.sub = make_socket(ctx, zmq.SUB, curve=curve, rcvhwm=100_000,
                               maxmsgsize=protocol.MAX_PUBLISH_MSG)
        for prefix in (*protocol.FLEET_TOPICS, *protocol.PER_HOST):
            self.sub.setsockopt(zmq.SUBSCRIBE, prefix)
        self.view_mode = False  # following the UI's view (the broker has > VIEW_ABOVE hosts)
        self.view: frozenset[str] = frozenset()  # the link's view last followed
        self.following: set[str] = set()  # the hosts subscribed to (at most MAX_VIEW)
        self.nseq = -1
        self.dealer = make_socket(ctx, zmq.DEALER, curve=curve,
                                  maxmsgsize=protocol.MAX_REPLY_BYTES)
        self.pseq = -1
        self.snap_id: str | None = None
        self.buffer: list[dict[str, Any]] = []
        self.coalescer = Coalescer(link.name, link.post)  # one message a flush (FLUSH_S)
        self.pending: dict[str, tuple[str, float]] = {}  # req id -> (op, sent at)
        self.status_sent: float | None = None
        self.last_heard = time.monotonic()
        self.ids = 0
        self.connected = False  # the first snapshot arrived (the link reads it, never the reverse)
        self.resyncs = 0  # fresh snapshots fetched after a gap or a broker restart

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
            self.snap_id = self.ask_snapshot()
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
                if not self.connected:
                    if now - started > link.timeout:
                        return False
                    continue
                self.send_user_requests()
                if self.view_mode and link.view is not self.view:
                    self.follow(link.view)
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
            return self.connected
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
            self.link.count_frame(parts[0])
            try:
                frame = protocol.decode(parts, cap=protocol.MAX_PUBLISH_MSG)
            except protocol.ProtocolError:
                continue  # the broker validated it; a bad frame here is not ours to fix
            self.last_heard = time.monotonic()
            if self.snap_id is not None:
                if len(self.buffer) < MAX_BUFFER:
                    self.buffer.append(frame)
                continue
            self.apply(frame)

    def apply(self, frame: dict[str, Any], replay: bool = False) -> None:
        """Apply one published frame; ``replay`` for those buffered during a snapshot."""
        pseq = frame.get("pseq")
        if isinstance(pseq, int):
            if pseq <= self.pseq:
                # Buffered frames the snapshot already contains are skipped. Live, PUB/SUB
                # never repeats or reorders: an older number means the broker restarted.
                if not replay:
                    self.pseq = pseq
                    self.resync()
                return
            if pseq > self.pseq + 1 and self.pseq >= 0 and not self.view_mode:
                self.pseq = pseq
                self.resync()  # frames were lost: the Clone pattern says fetch state again
                return
            self.pseq = pseq
        nseq = frame.get("nseq")
        if isinstance(nseq, int):
            lost = self.view_mode and self.nseq >= 0 and nseq > self.nseq + 1
            self.nseq = nseq
            if lost:
                self.resync()  # with a view, frames but metrics are what reveals a loss
                return
        if frame["kind"] == "digest" and not self.view_mode and isinstance(
                frame["digest"], dict) and len(frame["digest"].get("hosts") or ()) > VIEW_ABOVE:
            self.set_mode(True)  # the fleet grew past VIEW_ABOVE after the snapshot
        self.coalescer.frame(frame)

    def flush(self) -> None:
        self.coalescer.flush()

    def resync(self) -> None:
        if self.snap_id is None:
            self.resyncs += 1
            self.flush()
            self.snap_id = self.ask_snapshot()

    def ask_snapshot(self) -> str:
        """Past VIEW_ABOVE hosts the broker answers brief, with full detail for the view."""
        return self.send("snapshot", brief_above=VIEW_ABOVE,
                         detail=sorted(self.link.view)[:MAX_VIEW])

    def follow(self, view: frozenset[str]) -> None:
        """Subscribe to the frames of exactly the hosts of ``view`` (exact topics each)."""
        want = set(sorted(view)[:MAX_VIEW]) if len(view) > MAX_VIEW else set(view)
        for host in self.following - want:
            for t in protocol.host_topics(host):
                self.sub.setsockopt(zmq.UNSUBSCRIBE, t)
        for host in want - self.following:
            for t in protocol.host_topics(host):
                self.sub.setsockopt(zmq.SUBSCRIBE, t)
        self.link.note_subscribed(want)
        self.following, self.view = want, view

    def set_mode(self, view_mode: bool) -> None:
        if view_mode == self.view_mode:
            return
        self.view_mode = view_mode
        for prefix in protocol.PER_HOST:  # every host's frames, or the view's only
            self.sub.setsockopt(zmq.UNSUBSCRIBE if view_mode else zmq.SUBSCRIBE, prefix)
        self.follow(self.link.view if view_mode else frozenset())

    # ---------------------------------------------------------------- control replies
    def drain_replies(self) -> None:
        link = self.link
        while True:
            try:
                data = self.dealer.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                reply = unpack_reply(data)
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
                self.nseq = int(snap.get("nseq", -1))
                self.set_mode(bool(snap.get("brief")))
                link.post(Snapshot(link.name, snap))
                if not self.connected:
                    self.connected = True
                    link.post(ConnectionState(link.name, "connected", link.control))
                buffered, self.buffer = self.buffer, []
                for frame in buffered:
                    self.apply(frame, replay=True)
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
