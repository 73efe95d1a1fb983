"""The store's health, watched: paging goes on and says so when the event log cannot write.

``StoreWatch`` is the broker's link between the store's ``on_error``/``on_recover`` (writer
thread) and the core thread: on the first failure it hands what waits for a commit to the
notifier at once (broker/notify/feed.py), and on every change of ``Store.health()`` it emits
a ``store.state`` event and raises or clears the ``store_failing`` broker alert
(broker/alerting/internal.py). ``status()`` is the ``store`` part of ``status``:
``state`` (ok, failing, read-only), ``reason``, the store's figures and the feed's gap.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from broker.events import make_event


class StoreWatch:
    def __init__(self, system: Any) -> None:
        self.system = system  # broker.system.MonitoringSystem
        self.health = ("ok", "")

    def on_error(self, message: str) -> None:
        """Writer thread: a write (or maintenance) failed."""
        sys_ = self.system
        print(f"monitor-broker: store: {message}", file=sys.stderr)
        if sys_.store is not None and sys_.store.failing() and sys_.feed is not None:
            sys_.feed.store_failing()  # what waits for a commit is paged now
        if sys_.core is not None:
            sys_.core.emit(make_event("store.error", message, ts=sys_.clock.time(),
                                      severity="critical"))
            sys_.core.post(lambda: self.watch(sys_.clock.time()))

    def on_recover(self, message: str) -> None:
        if self.system.core is not None:
            self.system.core.post(lambda: self.watch(self.system.clock.time()))

    def watch(self, now: float) -> None:
        """Core thread (and the 1 s tick): act on a change of the store's health."""
        sys_ = self.system
        if sys_.store is None or sys_.core is None:
            return
        health = sys_.store.health()
        changed = health[0] != self.health[0]
        self.health = health
        if not changed:
            return
        state, reason = health
        sys_.core.emit(make_event(
            "store.state", f"event store {state}" + (f": {reason}" if reason else ""),
            ts=now, severity="info" if state == "ok" else "critical",
            data={"state": state, "reason": reason}))
        if sys_.engine is not None:
            for ev in sys_.engine.broker_alert("store_failing", state != "ok",
                                               socket.gethostname(),
                                               reason or "event store writes resumed", now):
                sys_.core.emit(ev)

    def status(self, stats: dict[str, Any] | None) -> dict[str, Any] | None:
        sys_ = self.system
        if sys_.store is None:
            return None
        state, reason = sys_.store.health()
        out = {**(stats or {}), "state": state, "reason": reason}
        if sys_.notifier is not None and sys_.notifier.outbox.degraded:
            out["outbox"] = f"in memory: {sys_.notifier.outbox.degraded}"
        if sys_.feed is not None:
            out |= sys_.feed.stats()
        return out
