"""broker/notify/feed.py: committed events normally, live ones while the store fails."""

from __future__ import annotations

from typing import Any

from broker.events import make_event
from broker.notify.feed import NotifyFeed


def ev(n: int) -> dict[str, Any]:
    return make_event("alert", f"e{n}", ts=float(n))  # type: ignore[return-value]


def test_waits_for_the_commit_then_notifies_once() -> None:
    got: list[str] = []
    feed = NotifyFeed(lambda e: got.append(e["message"]), failing=lambda: False)
    a, b = ev(1), ev(2)
    feed.on_bus(a)
    feed.on_bus(b)
    assert got == []
    feed.on_committed(a)
    feed.on_committed(b)
    assert got == ["e1", "e2"] and feed.gap == 0


def test_a_commit_that_overtakes_the_bus_is_not_notified_twice() -> None:
    got: list[str] = []
    feed = NotifyFeed(lambda e: got.append(e["message"]), failing=lambda: False)
    a = ev(1)
    feed.on_committed(a)
    feed.on_bus(a)
    assert got == ["e1"] and feed.stats()["waiting_for_commit"] == 0


def test_while_the_store_fails_events_go_at_once_and_the_gap_is_counted() -> None:
    got: list[str] = []
    failing = [False]
    feed = NotifyFeed(lambda e: got.append(e["message"]), failing=lambda: failing[0])
    held = ev(1)
    feed.on_bus(held)  # in the batch that is about to fail
    failing[0] = True
    feed.store_failing()
    live = ev(2)
    feed.on_bus(live)
    assert got == ["e1", "e2"] and feed.gap == 2
    failing[0] = False
    feed.on_committed(held)  # the store recovered and wrote them: no second page
    feed.on_committed(live)
    assert got == ["e1", "e2"]


def test_a_notifier_crash_does_not_drop_the_event() -> None:
    got: list[str] = []
    crashes = [1]

    def handle(e: dict[str, Any]) -> None:
        if crashes[0]:
            crashes[0] -= 1
            raise RuntimeError("boom")
        got.append(e["message"])

    feed = NotifyFeed(handle, failing=lambda: True)
    feed.on_bus(ev(1))
    assert got == []
    feed.on_bus(ev(2))  # the failed one goes first
    assert got == ["e1", "e2"] and feed.stats()["notify_retried"] == 1
    crashes[0] = 1
    feed.on_bus(ev(3))
    feed.retry()  # a timer, when no event follows
    assert got == ["e1", "e2", "e3"] and feed.lost == 0
