"""This broker as a cluster member: its replica and what it does with entries (core thread).

Local operator changes reach ``on_event`` (the core loop calls it for every event it
emits) and become entries in the replica and in ``outbox``, which the peer-link thread
(broker/cluster/links.py) pushes to every peer. Entries from peers come in through the
control ops ``peer_push`` / ``peer_fetch`` replies and ``merge``: those that win are
applied to the engine at once, or on a later tick when they cannot apply yet.
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from collections.abc import Callable
from typing import Any

from broker.alerting.engine import AlertEngine
from broker.cluster import effects
from broker.cluster.hlc import HLC
from broker.cluster.replica import Entry, Replica
from broker.events import Event
from core.clock import SYSTEM, Clock

log = logging.getLogger(__name__)

PENDING_TTL_S = 120.0  # an entry that could not apply in this long is given up
LAG_SAMPLES = 200


class ClusterNode:
    def __init__(self, name: str, engine: AlertEngine | None, emit: Callable[[Event], None],
                 clock: Clock = SYSTEM) -> None:
        self.name = name
        self.engine = engine
        self.emit = emit
        self.clock = clock
        self.hlc = HLC(name, clock)
        self.replica = Replica(self.hlc)
        self.outbox: deque[tuple[int, Entry]] = deque(maxlen=100_000)  # (seq, entry), read
        self.seq = 0                                                   # by the link thread
        self.pending: dict[str, float] = {}  # key -> give up at
        self.lag_ms: dict[str, deque[float]] = {}  # per origin node: arrival - stamp
        self.applied = 0
        self.received = 0
        self.wake: Callable[[], None] = lambda: None  # set by the link thread
        # (host, forget entry's value, why): retire the host unless it reported after the
        # forget; set by the member (it needs the ingest side). True if it did.
        self.forget_host: Callable[[str, dict[str, Any], str], bool] = lambda h, v, w: False
        self._applying = False
        # a broker without peers keeps no episode entries (nobody to agree with); the
        # first peer (pair()) has the open ones written then
        self.paired = False

    # ------------------------------------------------------------ local changes

    def on_event(self, event: Event) -> None:
        if self._applying:
            return  # the events of a peer's forget being applied here
        if event["kind"] == "alert" and not self.paired:
            return  # episodes: only a pair needs them
        change = effects.entry_for(event)
        if change is not None:
            self.put_local(*change)

    def pair(self) -> None:
        """This broker has a peer now (core thread, or before the core runs): from here on
        episodes are recorded, starting with those open now."""
        if self.paired:
            return
        self.paired = True
        if self.engine is None:
            return
        for a in list(self.engine.book.by_id.values()):
            if a.active and a.episode and not a.simulated:
                mine = self.replica.entries.get(f"episode:{a.id}")
                if effects.shared_episode(mine) != a.episode:
                    self.put_local(f"episode:{a.id}", {"episode": a.episode, "open": True,
                                                       "started_at": a.started_at})

    def put_local(self, key: str, value: Any) -> tuple[int, Entry]:
        """A change made here: into the replica, and queued for every peer. Returns its
        push sequence number (``PeerLinks.wait_pushed``) and the entry."""
        entry = self.replica.put(key, value)
        self.seq += 1
        self.outbox.append((self.seq, entry))
        self.wake()
        return self.seq, entry

    # ------------------------------------------------------------ from peers

    def newer_than(self, entries: list[Entry]) -> list[Entry]:
        """Ours where ours beats what a peer just pushed (it merges them from the reply)."""
        mine = (self.replica.entries.get(e.key) for e in entries)
        return [m for m, e in zip(mine, entries, strict=True) if m is not None and m.stamp > e.stamp]

    def merge(self, entries: list[Entry], via: str) -> int:
        """Merge a peer's entries; apply those that win. Returns how many won."""
        now = self.clock.time()
        self.received += len(entries)
        lags = self.lag_ms.setdefault(via, deque(maxlen=LAG_SAMPLES))
        for e in entries:
            if e.stamp[2] == via:  # made on the sender: how long it took to get here
                lags.append(max(0.0, now * 1000 - e.stamp[0]))
        before = {e.key: self.replica.entries.get(e.key) for e in entries
                  if e.key.startswith(("claim:", "episode:"))}
        won = self.replica.merge(entries)
        for e in won:
            mine = before.get(e.key)
            if effects.keep_ours(mine, e):
                assert mine is not None
                self.put_local(e.key, mine.value)  # a fresh stamp: ours wins everywhere
                continue
            self._apply(e, now, via)
        return len(won)

    def _apply(self, entry: Entry, now: float, via: str) -> None:
        if self.engine is None:
            return
        if entry.key.startswith("forget:"):
            self._forget(entry, via)
            return
        try:
            events = effects.apply(self.engine, entry, now, via)
        except (KeyError, ValueError) as exc:  # e.g. a silence the engine refuses
            log.warning("cluster: entry %s from %s not applied: %s", entry.key, via, exc)
            self.pending.pop(entry.key, None)
            return
        if events is None:
            self.pending.setdefault(entry.key, now + PENDING_TTL_S)
            return
        self.pending.pop(entry.key, None)
        self.applied += 1
        for event in events:
            self.emit(event)

    def _forget(self, entry: Entry, via: str) -> None:
        v = entry.value or {}
        self._applying = True
        try:
            if self.forget_host(entry.key.partition(":")[2], v,
                                f"{v.get('reason', 'by a peer')} (on {via})"):
                self.applied += 1
        finally:
            self._applying = False

    def shared_episode(self, fingerprint: str) -> str | None:
        """The open episode of this alert that the pair knows of (engine hook)."""
        return effects.shared_episode(self.replica.entries.get(f"episode:{fingerprint}"))

    def tick(self, now: float) -> None:
        """Retry entries that could not apply yet (an ack that came before its alert)."""
        for key, give_up in list(self.pending.items()):
            entry = self.replica.entries.get(key)
            if entry is None or now >= give_up:
                del self.pending[key]
                continue
            self._apply(entry, now, entry.stamp[2])
        if int(now) % 3600 == 0:
            self.replica.prune(int(now * 1000))

    # ------------------------------------------------------------ views

    def lag(self) -> dict[str, dict[str, float]]:
        out = {}
        for node, samples in self.lag_ms.items():
            if samples:
                s = sorted(samples)
                out[node] = {"p50_ms": round(statistics.median(s), 1),
                             "p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))], 1),
                             "samples": len(s)}
        return out

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "entries": len(self.replica.entries),
                "pending": len(self.pending), "received": self.received,
                "applied": self.applied, "lag": self.lag()}
