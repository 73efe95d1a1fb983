"""When the alert engine's state is saved, and in how many parts (docs/internals.md, "What
a broker crash can lose").

The state is two records in the store's ``state`` table, so that the part that changes
with every alert does not drag the part that grows with the fleet along:

- ``engine``: alerts (with acks, episode ids, flap history) and silences. Saved after a
  core-loop turn that changed an alert, at most once per ``every`` seconds (``[broker]
  state_save``, default 1 s), stretched so that these saves take at most ``DUTY`` (5 %) of
  the core thread (a storm of 10,000 alerts made one dump take about 100 ms: every 2 s
  then): a change inside the interval is saved by the tick that ends it. An operator's
  change (ack, silence, forget, a peer's merge) is saved at once.
- ``engine.hosts``: every host's last-seen time, sample origin and labels: 10,000 hosts
  made a full dump take about 20 ms, which ran after every changed loop turn (several
  times a second with a simulated fleet's spikes). Saved every ``HOSTS_EVERY`` seconds (or
  ``every``, if longer; the ``engine`` record with it) and on shutdown; a crash loses at most that much of it, which a restart rides out (hosts
  are judged by the saved last-seen, with ``RESTART_HOLD_S`` of grace).
- ``anomaly``: the anomaly baselines, every ``BASELINES_EVERY`` seconds and on shutdown.

Every save goes through the bus behind the events that changed the state, so the store
commits it in the same batch as those events or a later one. Runs on the core thread, or
once that has stopped (``MonitoringSystem.stop``).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

log = logging.getLogger(__name__)

HOSTS_EVERY = 10.0
BASELINES_EVERY = 300.0
DUTY = 0.05  # the change-driven saves take at most this share of the core thread
HOSTS_KEYS = ("hosts", "host_labels", "last_seen", "origin")


class EngineSaver:
    def __init__(self, engine: Any, bus: Any, member: Any, every: float = 1.0) -> None:
        self.engine, self.bus, self.member = engine, bus, member
        self.every = every
        self.dirty = False  # an alert changed since the last save of ``engine``
        self.saved_at = -math.inf
        self.hosts_at = 0.0
        self.baselines_at = 0.0
        self.saves = 0  # of the ``engine`` record (tests, status)
        self.gap = every  # the interval in force: ``every``, or longer when a save is slow

    def changed(self, now: float) -> None:
        """A loop turn changed an alert: save now, or at the end of the interval."""
        self.dirty = True
        if now - self.saved_at >= self.gap:
            self.save(now, hosts=False, baselines=False)

    def tick(self, now: float) -> None:
        if now - self.hosts_at >= max(HOSTS_EVERY, self.every):
            due = now - self.baselines_at >= BASELINES_EVERY
            self.save(now, hosts=True, baselines=due)
        elif self.dirty and now - self.saved_at >= self.gap:
            self.save(now, hosts=False, baselines=False)

    def save(self, now: float, *, hosts: bool = True, baselines: bool = True) -> None:
        """Queue the state for the store: the alerts always, the hosts' part and the
        baselines when asked."""
        t0 = time.perf_counter()
        try:
            state = self.engine.dump_state(baselines, hosts)
            saved = state.pop("baselines", None)
            part = {k: state.pop(k) for k in HOSTS_KEYS if k in state}
            self.bus.send("store", ("state", "engine", state))
            self.saves += 1
            self.dirty, self.saved_at = False, now
            if hosts:
                self.hosts_at = now
                self.bus.send("store", ("state", "engine.hosts",
                                        {"version": state["version"], **part}))
            if saved is not None:
                self.baselines_at = now
                self.bus.send("store", ("state", "anomaly", saved))
            self.bus.send("store", ("state", "cluster", self.member.dump()))
        except Exception:
            log.exception("could not save alert state")
        # a fleet-wide storm holds many alerts: a 100 ms dump stretches the interval to 2 s
        self.gap = max(self.every, (time.perf_counter() - t0) / DUTY)


def load(store: Any) -> dict[str, Any] | None:
    """The saved engine state as one dump (``persistence.restore``'s input), or None."""
    saved = store.load_state("engine")
    if not saved:
        return None
    hosts = store.load_state("engine.hosts")
    if hosts and hosts.get("version") == saved.get("version"):
        saved = {**saved, **{k: hosts[k] for k in HOSTS_KEYS if k in hosts}}
    baselines = store.load_state("anomaly")
    return {**saved, "baselines": baselines} if baselines else saved
