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
"""

from __future__ import annotations

import gc

FULL_NEVER = 1_000_000  # gc's third threshold: Python itself never starts a full collection
OVERDUE = 3  # this many times the usual interval: collect at the next tick whatever is queued


class GcPacer:
    def __init__(self) -> None:
        self.young, self.middle, self.every = gc.get_threshold()
        self.collections = 0
        self.installed = False

    def install(self) -> None:
        if not self.installed:
            gc.set_threshold(self.young, self.middle, FULL_NEVER)
            self.installed = True

    def uninstall(self) -> None:
        if self.installed:
            gc.set_threshold(self.young, self.middle, self.every)
            self.installed = False

    def _due(self, factor: int = 1) -> bool:
        return self.installed and gc.get_count()[2] > self.every * factor

    def painted(self, queued: int) -> None:
        """A frame was just sent; ``queued``: messages waiting in the app's queue."""
        if not queued and self._due():
            self._collect()

    def tick(self) -> None:
        """The app's refresh (twice a second): never later than ``OVERDUE`` times."""
        if self._due(OVERDUE):
            self._collect()

    def _collect(self) -> None:
        gc.collect(2)
        self.collections += 1
