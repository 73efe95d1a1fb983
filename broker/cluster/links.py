"""The peer-link thread: pushes this broker's changes to its peers and runs anti-entropy.

One thread owns one DEALER (``core.client.ControlClient``) per peer, aimed at the peer's
control socket. It sends every new local entry to every peer at once (``peer_push``), and
every ``interval`` seconds, on joining and whenever a peer comes back, compares digests
(``peer_digest``) and fetches or pushes what differs (``peer_fetch`` / ``peer_push``): the
ZeroMQ Guide's Clone pattern (snapshot on join, then the stream, then repair). The replica
lives on the core thread; this thread reaches it through ``BrokerCore.call``.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import zmq

from broker.cluster.node import ClusterNode
from broker.cluster.replica import Entry, parse_entries
from core.client import BrokerTimeout, ControlClient, ControlError
from core.clock import SYSTEM, Clock
from core.sockets import Curve

log = logging.getLogger(__name__)

PUSH_BATCH = 500
RETRY_DOWN_S = 2.0  # a peer that did not answer is tried again this often


class CoreCalls(Protocol):
    def call(self, fn: Any, timeout: float = 5.0) -> Any: ...


@dataclass
class Peer:
    endpoint: str
    client: ControlClient
    name: str = ""
    state: str = "joining"  # joining, up, down
    joined: bool = False  # its first exchange (the snapshot on join) is over, ok or not
    last_ok: float = 0.0
    last_error: str = ""
    pushed: int = 0
    last_sync: dict[str, Any] = field(default_factory=dict)


class PeerLinks:
    def __init__(self, node: ClusterNode, core: CoreCalls, *, ctx: zmq.Context[Any],
                 curve: Curve | None = None, interval: float = 5.0, timeout: float = 1.0,
                 advertise: str = "", clock: Clock = SYSTEM) -> None:
        self.node = node
        self.advertise = advertise  # our control endpoint, so a peer can pair back
        self.core = core
        self.ctx = ctx
        self.curve = curve
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
        self.peers: dict[str, Peer] = {}
        self._lock = threading.Lock()  # guards self.peers' membership for status readers
        self._adds: queue.Queue[str] = queue.Queue()
        self._joining: set[str] = set()  # added, not yet taken up by the link thread
        self._syncs: queue.Queue[tuple[threading.Event, list[Any]]] = queue.Queue()
        self._wake = threading.Event()
        self._stop = threading.Event()  # set with the link thread's stop: requests give up
        node.wake = self._wake.set
        self.pushed_seq = 0  # every local entry up to this one has been offered to every peer
        self._pushed = threading.Condition()

    # ------------------------------------------------------------ from other threads

    def add(self, endpoint: str) -> None:
        with self._lock:
            self._joining.add(endpoint)
        self._adds.put(endpoint)
        self._wake.set()

    def sync(self, timeout: float = 15.0) -> dict[str, Any]:
        """A full exchange with every peer now; what differed, entry by entry."""
        done, box = threading.Event(), list[dict[str, Any]]()
        self._syncs.put((done, box))
        self._wake.set()
        if not done.wait(timeout):
            raise TimeoutError(f"sync did not finish within {timeout:g}s")
        return box[0]

    def wait_pushed(self, seq: int, timeout: float) -> bool:
        """Wait until entry ``seq`` has been pushed to every peer that is up (each reply
        merged: a peer's newer entry for the same key is ours now). False on timeout."""
        self._wake.set()
        with self._pushed:
            return self._pushed.wait_for(lambda: self.pushed_seq >= seq, timeout)

    def known(self) -> bool:
        """Any peer at all (configured, connected or joining)."""
        return bool(self.peers or self._joining)

    def joining(self) -> bool:
        """A peer has not answered or failed its first exchange yet: this broker may not
        know what the pair did while it was away (claims, episodes)."""
        with self._lock:
            return bool(self._joining - set(self.peers)) or \
                not all(p.joined for p in self.peers.values())

    def status(self) -> list[dict[str, Any]]:
        now = self.clock.time()
        with self._lock:
            peers = list(self.peers.values())
            joining = sorted(self._joining - set(self.peers))
        return [{"endpoint": p.endpoint, "name": p.name, "state": p.state,
                 "last_ok_ago": round(now - p.last_ok, 1) if p.last_ok else None,
                 "last_error": p.last_error, "pushed": p.pushed,
                 "last_sync": p.last_sync} for p in peers] + [
            {"endpoint": ep, "name": "", "state": "joining", "last_ok_ago": None,
             "last_error": "", "pushed": 0, "last_sync": {}} for ep in joining]

    # ------------------------------------------------------------ the thread

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        for p in self.peers.values():  # a restarted thread: the clients heed this stop
            p.client.stop = stop
        next_sync = self.clock.monotonic() + self.interval
        next_retry = self.clock.monotonic() + RETRY_DOWN_S
        try:
            while not stop.is_set():
                self._wake.wait(min(0.5, max(0.0, next_sync - self.clock.monotonic())))
                self._wake.clear()
                while not self._adds.empty():
                    self._join(self._adds.get_nowait())
                self._push_outbox()
                while not self._syncs.empty():
                    done, box = self._syncs.get_nowait()
                    box.append(self._sync_all())
                    done.set()
                if self.clock.monotonic() >= next_sync:
                    next_sync = self.clock.monotonic() + self.interval
                    self._sync_all()
                elif self.clock.monotonic() >= next_retry:  # a down peer is asked again
                    next_retry = self.clock.monotonic() + RETRY_DOWN_S  # sooner than that
                    for peer in [p for p in self.peers.values() if p.state == "down"]:
                        self._exchange(peer)
        finally:
            for p in self.peers.values():
                p.client.close()

    def _join(self, endpoint: str) -> None:
        known = self.peers.get(endpoint)
        if known is not None:  # it reached us: if we had it down, it is back
            if known.state != "up":
                self._exchange(known)
            return
        client = ControlClient(endpoint, timeout=self.timeout, ctx=self.ctx, curve=self.curve,
                               stop=self._stop)
        with self._lock:
            self.peers[endpoint] = Peer(endpoint, client)
        self._exchange(self.peers[endpoint])  # snapshot on join

    def _call(self, peer: Peer, op: str, **args: Any) -> Any:
        if self.advertise:
            args["endpoint"] = self.advertise
        try:
            result = peer.client.request(op, **args)
        except (BrokerTimeout, ControlError, zmq.ZMQError) as exc:
            if peer.state != "down":
                log.warning("cluster: peer %s is down: %s", peer.endpoint, exc)
            peer.state, peer.last_error = "down", str(exc)
            raise
        came_back = peer.state != "up"
        peer.state, peer.last_ok, peer.last_error = "up", self.clock.time(), ""
        peer.name = str(result.get("node", peer.name)) if isinstance(result, dict) else peer.name
        if came_back and op == "peer_push":
            self._exchange(peer)  # what it missed while away
        return result

    def _push_outbox(self) -> None:
        batch: list[tuple[int, Entry]] = []
        while self.node.outbox and len(batch) < PUSH_BATCH:
            batch.append(self.node.outbox.popleft())
        if not batch:
            return
        wire = [e.wire() for _, e in batch]
        for peer in list(self.peers.values()):
            if peer.state == "down":
                continue  # anti-entropy brings it up to date when it answers again
            try:
                reply = self._call(peer, "peer_push", node=self.node.name, entries=wire)
                peer.pushed += len(wire)
            except Exception:  # noqa: BLE001 - logged and shown in status by _call
                continue
            newer = parse_entries(reply.get("newer") or [])
            if newer:  # the peer had a later change to the same key (two claims at once)
                self.core.call(lambda n=newer, p=peer: self.node.merge(n, p.name or p.endpoint))
        with self._pushed:
            self.pushed_seq = batch[-1][0]
            self._pushed.notify_all()
        if self.node.outbox:
            self._wake.set()

    def _sync_all(self) -> dict[str, Any]:
        reports = [self._exchange(p) for p in list(self.peers.values())]
        return {"node": self.node.name, "peers": reports,
                "differences": sum(len(r.get("fetched", [])) + len(r.get("pushed", []))
                                   for r in reports)}

    def _differences(self, peer: Peer) -> tuple[list[str], list[str]]:
        """(keys to fetch, keys to push): bucket summaries first, then the digest of the
        buckets that differ only; a peer that sends no summary (an older broker) is
        compared on its whole digest."""
        replica = self.node.replica
        summary = self._call(peer, "peer_digest", summary=True).get("summary")
        if summary is None:
            theirs = self._call(peer, "peer_digest")["digest"]
            return self.core.call(lambda: replica.compare(theirs))
        buckets = self.core.call(lambda: replica.differing(summary))
        if not buckets:
            return [], []
        theirs = self._call(peer, "peer_digest", buckets=buckets)["digest"]
        return self.core.call(lambda: replica.compare(theirs, buckets))

    def _exchange(self, peer: Peer) -> dict[str, Any]:
        """Anti-entropy with one peer: compare digests, fetch what is newer there, push
        what is newer here. Returns the report (also kept as the peer's ``last_sync``)."""
        report: dict[str, Any] = {"peer": peer.endpoint, "at": self.clock.time()}
        try:
            fetch, push = self._differences(peer)
            report["name"] = peer.name
            if fetch:
                got = self._call(peer, "peer_fetch", keys=fetch)
                entries = parse_entries(got["entries"])
                self.core.call(lambda: self.node.merge(entries, peer.name or peer.endpoint))
            if push:
                mine = self.core.call(lambda: [e.wire() for e in self.node.replica.pick(push)])
                reply = self._call(peer, "peer_push", node=self.node.name, entries=mine)
                newer = parse_entries(reply.get("newer") or [])
                if newer:  # it kept its own (a done claim, an earlier episode): take it
                    self.core.call(lambda: self.node.merge(newer, peer.name or peer.endpoint))
            report.update(ok=True, fetched=fetch, pushed=push)
        except Exception as exc:  # noqa: BLE001 - a peer's failure is reported, not raised
            report.update(ok=False, error=str(exc), fetched=[], pushed=[])
        peer.last_sync, peer.joined = report, True
        return report
