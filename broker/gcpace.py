"""Keep the garbage collector's full passes off a joining fleet.

CPython's collector runs a full pass (every tracked object of the process) each time the
objects that survived since the last full pass reach a quarter of those it kept then. A
fleet joining grows the heap just that way, over and over: measured in process, 10,000
hosts joining took 6 full passes of 45-120 ms on the core thread, 45 us a host of 133
(a host's record, routing, series and windows are about 56 tracked objects). What a host
brings is long-lived by nature, so after a tick in which hosts joined the pacer collects
(``gc.collect()``: with everything older frozen, only the objects made since the last
freeze are scanned) and freezes what survived (``gc.freeze()``: the full passes skip it).

The cost: frozen objects that turn into cyclic garbage later are not collected while they
are frozen (a forgotten host's series and alerts reference each other; so do the old
rules' series after a reload). So when hosts leave, the pacer unfreezes before it collects
(that pass is a full one, once), and every ``UNFREEZE_S`` without joins it unfreezes, which
leaves the collector as it was (the broker's start-up ``gc.freeze`` in broker/cli.py aside).
The pacer also raises the youngest generation's threshold from 700 to ``YOUNG`` (10,000)
allocations: a join's short-lived containers (decoded frames, lists, events) then mostly die
before a pass looks at them, and fewer young passes mean fewer full ones (measured, 10,000
hosts joining: 808 young, 72 middle and 7-8 full passes -> 56, 4 and 3; core thread CPU
136-149 -> 119-127 us a host). A young pass over 10,000 objects takes a few ms; in the
steady state the broker allocates nothing that lives, and there is hardly one.
Runs on the core thread, from its 1 s tick; process-wide, so only the broker process turns
it on (``MonitoringSystem(gc_pacing=True)``), not a test process holding many brokers.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from broker.ingest.state import State

UNFREEZE_S = 600.0
YOUNG = 10_000  # the youngest generation's threshold (CPython's default: 700)


class GcPacer:
    def __init__(self, state: State, unfreeze_s: float = UNFREEZE_S, young: int = YOUNG
                 ) -> None:
        first, middle, old = gc.get_threshold()
        gc.set_threshold(max(first, young), middle, old)
        self.state = state
        self.unfreeze_s = unfreeze_s
        self.version = state.version
        self.hosts = len(state.hosts)
        self.frozen_at: float | None = None
        self.freezes = 0  # for status and tests

    def tick(self, now: float) -> None:
        version, hosts = self.state.version, len(self.state.hosts)
        if version == self.version:
            if self.frozen_at is not None and now - self.frozen_at >= self.unfreeze_s:
                gc.unfreeze()
                self.frozen_at = None
            return
        if hosts < self.hosts:
            gc.unfreeze()  # hosts left: their cycles may be among the frozen
        gc.collect()
        gc.freeze()
        self.freezes += 1
        self.version, self.hosts, self.frozen_at = version, hosts, now
