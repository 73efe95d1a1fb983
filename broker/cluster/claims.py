"""Exactly-once paging across a broker pair: claim a notification before attempting it.

Both brokers of a pair evaluate the same stream, so both queue the same notification
(same deterministic id). Before an attempt, a broker's delivery worker asks ``before_send``:

1. a ``done`` claim (a peer delivered it, or gave up on it for good): do not send;
2. a live claim of a peer (its lease not run out): wait, look again soon;
3. otherwise claim it (an entry ``claim:<id>`` in the replicated state, with a lease) and
   wait one replication round trip: the push to every peer that is up, whose replies carry
   back any later claim a peer made of the same id (two brokers claiming in the same
   millisecond). Claims are ordered by (hybrid clock, broker name): the loser sees the
   winner's claim and withdraws before sending (Alertmanager's peer-position wait, made
   explicit and one round trip long rather than a fixed delay per position).

A failed attempt keeps the claim (``hold`` renews the lease past the next retry), so a
receiver that errors for 20 s gets one message when it recovers, not one per peer. A holder
that dies stops renewing: its lease runs out and a peer takes over, with the same id (the
receiver's Idempotency-Key dedups the rare resend). A partition fails open: with no peer
up the round trip is empty and both sides send, with the same id.
"""

from __future__ import annotations

from typing import Any

from broker.cluster.links import CoreCalls, PeerLinks
from broker.cluster.node import ClusterNode
from broker.notify.claims import DONE, SEND, WAIT
from core.clock import SYSTEM, Clock

LEASE_S = 15.0
LOOK_AGAIN_S = 0.5
ROUND_TRIP_TIMEOUT_S = 2.0


class ClaimBook:
    def __init__(self, node: ClusterNode, core: CoreCalls, links: PeerLinks, *,
                 lease: float = LEASE_S, clock: Clock = SYSTEM) -> None:
        self.node = node
        self.core = core
        self.links = links
        self.lease = lease
        self.clock = clock
        self.claimed = 0
        self.withdrawn = 0
        self.taken_over = 0
        self.deferred = 0

    def _get(self, key: str) -> dict[str, Any] | None:
        entry = self.core.call(lambda: self.node.replica.entries.get(key))
        return None if entry is None else entry.value

    def _put(self, key: str, value: dict[str, Any]) -> int:
        seq: int = self.core.call(lambda: self.node.put_local(key, value)[0])
        return seq

    def before_send(self, notification_id: str, now: float) -> tuple[str, float]:
        if not self.links.peers:
            return SEND, 0.0  # no pair: nobody to agree with
        key = f"claim:{notification_id}"
        me = self.node.name
        v = self._get(key)
        if v is not None:
            if v.get("state") == "done":
                return DONE, 0.0
            if v.get("holder") != me and float(v.get("until", 0)) > now:
                self.deferred += 1
                return WAIT, min(float(v["until"]), now + LOOK_AGAIN_S)
            if v.get("holder") == me and float(v.get("until", 0)) > now:
                return SEND, 0.0  # ours already (a retry)
            if v.get("holder") != me:
                self.taken_over += 1  # its holder stopped renewing: it died or was cut off
        seq = self._put(key, {"holder": me, "until": now + self.lease, "state": "claimed"})
        self.links.wait_pushed(seq, ROUND_TRIP_TIMEOUT_S)
        v = self._get(key) or {}
        if v.get("holder") == me:
            self.claimed += 1
            return SEND, 0.0
        self.withdrawn += 1
        if v.get("state") == "done":
            return DONE, 0.0
        return WAIT, min(float(v.get("until", now)), now + LOOK_AGAIN_S)

    def hold(self, notification_id: str, next_attempt_at: float) -> None:
        if not self.links.peers:
            return
        self._put(f"claim:{notification_id}", {"holder": self.node.name, "state": "claimed",
                                               "until": next_attempt_at + self.lease})

    def finished(self, notification_id: str) -> None:
        if not self.links.peers:
            return
        self._put(f"claim:{notification_id}", {"holder": self.node.name, "state": "done",
                                               "until": 0.0})

    def stats(self) -> dict[str, int]:
        return {"claimed": self.claimed, "withdrawn": self.withdrawn,
                "taken_over": self.taken_over, "deferred": self.deferred}
