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

import dataclasses
import hashlib
import json
from typing import Any

from broker.cluster.effects import EPISODE_SLACK_S
from broker.cluster.links import CoreCalls, PeerLinks
from broker.cluster.node import ClusterNode
from broker.notify.base import Notification
from broker.notify.claims import DONE, SEND, WAIT
from core.clock import SYSTEM, Clock

LEASE_S = 15.0
LOOK_AGAIN_S = 0.5
ROUND_TRIP_TIMEOUT_S = 2.0  # the default of [cluster] round_trip_timeout


class ClaimBook:
    def __init__(self, node: ClusterNode, core: CoreCalls, links: PeerLinks, *,
                 lease: float = LEASE_S, round_trip: float = ROUND_TRIP_TIMEOUT_S,
                 clock: Clock = SYSTEM) -> None:
        self.node = node
        self.core = core
        self.links = links
        self.lease = lease
        self.round_trip = round_trip  # the longest wait for one replication round trip
        self.clock = clock
        self.claimed = 0
        self.withdrawn = 0
        self.taken_over = 0
        self.deferred = 0
        self._keys: dict[str, str] = {}  # notification id -> claim key
        self._ready: dict[str, tuple[str, float, float]] = {}  # id -> (verdict, until, by)
    def _get(self, key: str) -> dict[str, Any] | None:
        entry = self.core.call(lambda: self.node.replica.entries.get(key))
        return None if entry is None else entry.value

    def _put(self, key: str, value: dict[str, Any]) -> int:
        seq: int = self.core.call(lambda: self.node.put_local(key, value)[0])
        return seq

    def _look_or_claim(self, key: str, n: Notification, now: float) -> tuple[str, float, int]:
        """On the core thread, in one step (no peer's claim can land between the look and
        the claim): (DONE|WAIT|SEND, until, 0) from what is there, or ("claimed", 0, seq)."""
        me = self.node.name
        entry = self.node.replica.entries.get(key)
        v = entry.value if entry is not None else None
        if v is not None:
            live = float(v.get("until", 0)) > now
            if v.get("state") == "done":
                return DONE, 0.0, 0
            if live and v.get("holder") != me:
                return WAIT, min(float(v["until"]), now + LOOK_AGAIN_S), 0
            if live:
                return SEND, 0.0, 0  # ours already (a retry)
            if v.get("holder") != me:
                self.taken_over += 1  # its holder stopped renewing: it died or was cut off
        # the first claimer's id goes with the claim: whoever sends, sends under it
        nid = str((v or {}).get("nid") or n.id)
        seq, _ = self.node.put_local(key, {"holder": me, "until": now + self.lease,
                                           "state": "claimed", "nid": nid})
        return "claimed", 0.0, seq

    def _claim_key(self, n: Notification) -> str:
        """The pair's name for this message (core thread). Normally the notification id:
        both brokers start an episode at the same sample. A broker that missed the start
        (it was restarting) made its own episode id; the replicated ``episode:`` entry (the
        incident's earliest episode, effects.keep_ours) names the pair's one episode of
        that incident, so both brokers' rows for it map to one claim."""
        pairs = []
        for a in n.alerts:
            fp, episode = str(a.get("id", "")), str(a.get("episode", ""))
            entry = self.node.replica.entries.get(f"episode:{fp}")
            if entry is not None and entry.value and abs(
                    float(entry.value.get("started_at", 0.0)) - float(a.get("started_at") or 0.0)
            ) <= EPISODE_SLACK_S:
                episode = str(entry.value.get("episode") or episode)
            pairs.append((fp, episode))
        base = json.dumps([n.receiver, n.group_key, sorted(pairs), n.status, n.kind, n.repeat],
                          separators=(",", ":"))
        return "claim:" + hashlib.sha256(base.encode()).hexdigest()[:32]

    def _key(self, n: Notification) -> str:
        """The claim key, worked out afresh before each attempt (the pair may have settled
        on another episode since the last one); the first time, after a round trip."""
        if n.id not in self._keys:
            # first our own changes (the episode this message is about among them) reach the
            # peers, and their later entries for the same keys come back in the replies
            self.links.wait_pushed(self.core.call(lambda: self.node.seq), self.round_trip)
            if len(self._keys) > 100_000:
                self._keys.pop(next(iter(self._keys)))
        key = self._keys[n.id] = self.core.call(lambda: self._claim_key(n))
        return key

    def before_send(self, n: Notification, now: float) -> tuple[str, float]:
        if not self.links.known():
            return SEND, 0.0  # no pair: nobody to agree with
        if self.links.joining():
            self.deferred += 1  # started a moment ago: hear what the pair did meanwhile
            return WAIT, now + LOOK_AGAIN_S
        ready = self._ready.pop(n.id, None)
        if ready is not None and now < ready[2]:
            return ready[0], ready[1]  # settled by prepare() a moment ago
        key = self._key(n)
        verdict, until, seq = self.core.call(lambda: self._look_or_claim(key, n, now))
        if verdict != "claimed":
            return self._count(verdict, until)
        # one round trip: every peer that is up has our claim, and told us of a later one
        self.links.wait_pushed(seq, self.round_trip)
        return self._settle(self._get(key) or {}, now)

    def prepare(self, notes: list[Notification], now: float) -> None:
        """Look at and claim several due messages at once, with one round trip for all
        (a burst: a thousand alerts resolving together); before_send answers from it."""
        if len(notes) < 2 or not self.links.known() or self.links.joining():
            return
        if any(n.id not in self._keys for n in notes):
            self.links.wait_pushed(self.core.call(lambda: self.node.seq), self.round_trip)

        def look_all() -> list[tuple[str, str, float, int]]:
            out = []
            for n in notes:
                key = self._keys[n.id] = self._claim_key(n)
                out.append((key, *self._look_or_claim(key, n, now)))
            return out
        looked = self.core.call(look_all)
        top = max(seq for *_, seq in looked)
        if top:
            self.links.wait_pushed(top, self.round_trip)
        values = self.core.call(lambda: [
            (e.value if (e := self.node.replica.entries.get(k)) is not None else None) or {}
            for k, *_ in looked])
        fresh = now + self.lease / 2  # a claim this old is looked at again
        for n, (_, verdict, until, _), v in zip(notes, looked, values, strict=True):
            settled = self._settle(v, now) if verdict == "claimed" else \
                self._count(verdict, until)
            self._ready[n.id] = (*settled, fresh)
        while len(self._ready) > 1000:
            self._ready.pop(next(iter(self._ready)))

    def _count(self, verdict: str, until: float) -> tuple[str, float]:
        if verdict == WAIT:
            self.deferred += 1
        return verdict, until

    def _settle(self, v: dict[str, Any], now: float) -> tuple[str, float]:
        """After our claim's round trip: is it still ours?"""
        if v.get("holder") == self.node.name:
            self.claimed += 1
            return SEND, 0.0
        self.withdrawn += 1
        if v.get("state") == "done":
            return DONE, 0.0
        return WAIT, min(float(v.get("until", now)), now + LOOK_AGAIN_S)

    def send_as(self, n: Notification) -> Notification:
        """What goes out: under the claim's id (the first claimer's notification id), so a
        take-over after the holder died is a resend the receiver can drop by its key."""
        key = self._keys.get(n.id)
        v = self._get(key) if key is not None else None
        nid = str((v or {}).get("nid") or n.id)
        return n if nid == n.id else dataclasses.replace(n, id=nid)

    def _renew(self, n: Notification, state: str, until: float) -> None:
        key = self._key(n)
        nid = str((self._get(key) or {}).get("nid") or n.id)
        self._put(key, {"holder": self.node.name, "state": state, "until": until, "nid": nid})

    def hold(self, n: Notification, next_attempt_at: float) -> None:
        if self.links.known():
            self._renew(n, "claimed", next_attempt_at + self.lease)

    def finished(self, n: Notification) -> None:
        if self.links.known():
            self._renew(n, "done", 0.0)
            self._keys.pop(n.id, None)

    def stats(self) -> dict[str, int]:
        return {"claimed": self.claimed, "withdrawn": self.withdrawn,
                "taken_over": self.taken_over, "deferred": self.deferred}
