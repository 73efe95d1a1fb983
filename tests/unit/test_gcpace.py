"""broker/gcpace.py: what joined is frozen after the tick; what leaves is collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from broker.gcpace import YOUNG, GcPacer
from broker.ingest.state import State


class Node:
    """A cycle: a forgotten host's series and alert reference each other like this."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_young_generation_waits_for_more_allocations() -> None:
    gc.set_threshold(700, 10, 10)
    GcPacer(State())
    assert gc.get_threshold() == (YOUNG, 10, 10)
    gc.set_threshold(50_000, 10, 10)
    GcPacer(State())  # never lowered
    assert gc.get_threshold() == (50_000, 10, 10)


def join(state: State, host: str) -> Node:
    state.touch({"host": host, "agent": host, "boot": "b", "seq": 1, "ts": 1.0})
    node = Node()
    state.hosts[host].info["cycle"] = node
    return node


def test_joined_hosts_are_frozen_after_the_tick_and_thawed_later() -> None:
    state = State()
    pacer = GcPacer(state, unfreeze_s=600.0)
    pacer.tick(100.0)
    assert pacer.freezes == 0 and gc.get_freeze_count() == 0  # nothing joined
    join(state, "web-1")
    pacer.tick(101.0)
    assert pacer.freezes == 1 and gc.get_freeze_count() > 0
    pacer.tick(102.0)
    assert pacer.freezes == 1  # no new host: no second pass
    pacer.tick(701.0)
    assert gc.get_freeze_count() == 0  # quiet for unfreeze_s: the collector as it was


def test_a_forgotten_hosts_cycles_are_collected() -> None:
    state = State()
    pacer = GcPacer(state)
    gone = weakref.ref(join(state, "web-1"))
    join(state, "web-2")
    pacer.tick(1.0)
    assert gc.get_freeze_count() > 0
    state.forget("web-1")
    assert gone() is not None  # a cycle: only the collector frees it, and it is frozen
    pacer.tick(2.0)  # hosts left: thawed, collected, the rest frozen again
    assert gone() is None
    assert pacer.freezes == 2 and gc.get_freeze_count() > 0
