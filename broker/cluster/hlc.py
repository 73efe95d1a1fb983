"""A hybrid logical clock: timestamps that order changes across brokers deterministically.

A stamp is ``(wall_ms, counter, node)``. ``now()`` never goes backwards on one broker, even
if its wall clock does; ``observe()`` folds in a stamp received from a peer, so a change
made after hearing of another always sorts after it. Ties between brokers (the same
millisecond and counter) are broken by the node name, so every broker picks the same
winner (Kulkarni et al., "Logical Physical Clocks", 2014).
"""

from __future__ import annotations

import threading
from typing import Any

from core.clock import SYSTEM, Clock

Stamp = tuple[int, int, str]


class HLC:
    def __init__(self, node: str, clock: Clock = SYSTEM) -> None:
        self.node = node
        self.clock = clock
        self.wall = 0
        self.counter = 0
        self._lock = threading.Lock()

    def now(self) -> Stamp:
        with self._lock:
            phys = int(self.clock.time() * 1000)
            if phys > self.wall:
                self.wall, self.counter = phys, 0
            else:
                self.counter += 1
            return (self.wall, self.counter, self.node)

    def observe(self, stamp: Stamp) -> None:
        with self._lock:
            phys = int(self.clock.time() * 1000)
            wall, counter = stamp[0], stamp[1]
            top = max(self.wall, wall, phys)
            if top == self.wall == wall:
                self.counter = max(self.counter, counter) + 1
            elif top == self.wall:
                self.counter += 1
            elif top == wall:
                self.counter = counter + 1
            else:
                self.counter = 0
            self.wall = top


def parse_stamp(obj: Any) -> Stamp:
    """A stamp from the wire (a 3-item list); ValueError naming what is wrong."""
    if not isinstance(obj, list | tuple) or len(obj) != 3:
        raise ValueError(f"stamp must be [wall_ms, counter, node], got {obj!r:.60}")
    wall, counter, node = obj
    if isinstance(wall, bool) or not isinstance(wall, int) or wall < 0 or \
            isinstance(counter, bool) or not isinstance(counter, int) or counter < 0:
        raise ValueError(f"stamp wall and counter must be non-negative integers: {obj!r:.60}")
    if not isinstance(node, str) or not node or len(node) > 200:
        raise ValueError(f"stamp node must be a non-empty name: {obj!r:.60}")
    return (wall, counter, node)
