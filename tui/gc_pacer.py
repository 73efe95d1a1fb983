"""The cyclic garbage collector's full passes, run just after a frame is sent, not in a key.

Measured in the soak (tests/soak, SOAK_GC=1): the console keeps 40,000-150,000 objects the
collector tracks beyond those frozen after a snapshot (Textual's render caches: a Strip holds
seven small caches, and a Strip cached in its own crop cache is a cycle only the collector
frees), and Python ran a full collection over them some 30 times in 45 s, 15-110 ms of CPU
each, 120 ms of wall time on average and up to 430 ms on the shared box. A full collection
starts when an allocation crosses the threshold: drawing a frame allocates the most, so it
started in the middle of a key's repaint, and the slowest keys of the soak were the ones it
fell on (gc 160-300 ms of a 250-330 ms key).

Here Python never starts a full collection itself (its third threshold is out of reach);
the console runs one when Python would have (as many young collections since the last),
but only once a frame has been sent and nothing waits in the app's queue (the key that
asked for the frame sees it first), or, should that moment never come, at the next refresh
tick once it is ``OVERDUE`` times late, so memory stays bounded. Young collections are
unchanged. Freezing survivors instead (``gc.freeze``) would leave the cycles among them
(thousands of Strips a second) unfreed until a sweep: tried, 7,000 objects a second leaked.

Two more conditions, from the soak with SOAK_GC=1 (32 full passes in 45 s, 9-146 ms each,
3.4 s in all: 7 % of a core; each freed 6-22 % of 100,000-160,000 objects; an incident's
opening the slowest key at 200 ms, 136 of them a full pass):
- a full pass waits until the old generation has grown by ``GROWTH`` (a quarter) since the
  last one. CPython has the same rule (``long_lived_pending < long_lived_total / 4``: no
  full pass), which a pacer that counts only young collections had dropped; it is measured
  here as the old generation's net growth (``len(gc.get_objects(2))``, 1.6 ms at 160,000
  objects, taken once per young collection while a pass is due);
- nor does it run while a request to the broker awaits its reply: the key that sent it
  (Enter on an alert asks for the incident) is not done until the reply is drawn.
"""

from __future__ import annotations

import gc

FULL_NEVER = 1_000_000  # gc's third threshold: Python itself never starts a full collection
OVERDUE = 3  # this many times the usual interval: collect at the next tick whatever is queued
GROWTH = 0.25  # a full pass once the old generation grew by this much since the last


class GcPacer:
    def __init__(self) -> None:
        self.young, self.middle, self.every = gc.get_threshold()
        self.collections = 0
        self.installed = False
        self.after = 0  # objects in the old generation after the last full pass
        self._grown = (-1, False)  # (gc.get_count()[2] when measured, grown by GROWTH)

    def install(self) -> None:
        if not self.installed:
            gc.set_threshold(self.young, self.middle, FULL_NEVER)
            self.installed = True

    def uninstall(self) -> None:
        if self.installed:
            gc.set_threshold(self.young, self.middle, self.every)
            self.installed = False

    def _due(self, factor: int = 1) -> bool:
        if not self.installed:
            return False
        count = gc.get_count()[2]
        if count <= self.every * factor:
            return False
        if self._grown[0] != count:  # measured again only after a young collection
            self._grown = (count, len(gc.get_objects(2)) > self.after * (1 + GROWTH))
        return self._grown[1]

    def painted(self, queued: int, awaiting: int = 0) -> None:
        """A frame was just sent; ``queued``: messages waiting in the app's queue;
        ``awaiting``: requests sent whose reply has not come."""
        if not queued and not awaiting and self._due():
            self._collect()

    def tick(self) -> None:
        """The app's refresh (twice a second): never later than ``OVERDUE`` times."""
        if self._due(OVERDUE):
            self._collect()

    def _collect(self) -> None:
        gc.collect(2)
        self.collections += 1
        self.after = len(gc.get_objects(2))
        self._grown = (-1, False)
