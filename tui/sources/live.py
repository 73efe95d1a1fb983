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
from collections import Counter
from collections.abc import Iterable
from typing import Any

import zmq

from core import protocol
from core.backoff import Backoff
from core.sockets import make_socket
from tui.messages import ConnectionState, Reply
from tui.sources.base import DataSource
from tui.sources.session import Session


def probe(control: str, timeout: float = 3.0, curve: Any = None) -> str | None:
    """None when the broker at ``control`` answers ``status``, else a line saying it did not.

    The CLI calls this before drawing anything, so a wrong address is a one-line error.
    """
    ctx = zmq.Context()
    sock = make_socket(ctx, zmq.DEALER, curve=curve, maxmsgsize=protocol.MAX_REPLY_BYTES)
    try:
        sock.connect(control)
        sock.send(protocol.request("probe", "status"))
        if sock.poll(int(timeout * 1000)):
            return None
        if curve is not None:
            return (f"no answer from broker at {control} in {timeout:g} s: the broker may not "
                    "know this key (or is not running)")
        return f"cannot reach broker at {control} (no reply in {timeout:g} s)"
    finally:
        sock.close(linger=0)
        ctx.term()


class LiveSource(DataSource):
    """Brokers reached over ZeroMQ: ``brokers`` maps a name to (control, publish) endpoints."""

    def __init__(self, brokers: dict[str, tuple[str, str]], timeout: float = 3.0,
                 heartbeat: float = 1.0, curve: Any = None) -> None:
        super().__init__()
        self.curve = curve  # core.keys.ClientCurve for brokers that speak CurveZMQ
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

    def set_view(self, hosts: Iterable[str]) -> None:
        view = frozenset(hosts)
        for link in self.links.values():
            link.view = view  # one reference swap: the worker reads it on its next turn

    def request(self, op: str, args: dict[str, Any], brokers: list[str] | None = None,
                req_id: str | None = None) -> str:
        req_id = req_id or self.next_id()
        if op not in protocol.OPS:  # the one op list (core/ops.py): refused here, not sent
            self.post(Reply(req_id, op, False, error=f"unknown op '{op}' (known: "
                            f"{', '.join(sorted(protocol.OPS))})"))
            return req_id
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
        self.session: Session | None = None  # the current connection, if any
        self._past_resyncs = 0
        self.view: frozenset[str] = frozenset()  # hosts the UI shows (LiveSource.set_view)
        self.topics: Counter[bytes] = Counter()  # frames received, by topic
        self.subscribed: set[str] = set()  # every host whose metrics were ever subscribed
        self._worker: Any = None

    def count_frame(self, topic: bytes) -> None:
        """A frame arrived on ``topic`` (the session reports; counts outlive sessions)."""
        self.topics[topic] += 1

    def note_subscribed(self, hosts: set[str]) -> None:
        self.subscribed |= hosts

    @property
    def connected(self) -> bool:
        session = self.session
        return session is not None and session.connected

    @property
    def resyncs(self) -> int:
        """Fresh snapshots fetched after a gap or a restart, over every connection."""
        session = self.session
        return self._past_resyncs + (session.resyncs if session is not None else 0)

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
        backoff, ever = Backoff(0.5, 10.0), False
        try:
            while not self.stopped():
                state = "reconnecting" if ever else "connecting"
                self.post(ConnectionState(self.name, state, f"{state} to {self.control}"))
                self.session = session = Session(self, ctx)
                if session.run():
                    ever = True
                    backoff.reset()
                elif not ever:
                    self.post(ConnectionState(
                        self.name, "unreachable",
                        f"cannot reach broker at {self.control} (no reply in {self.timeout:g} s)"))
                self.session, self._past_resyncs = None, self._past_resyncs + session.resyncs
                if self.stopping.wait(backoff.next()):
                    break
        finally:
            ctx.destroy(linger=0)
