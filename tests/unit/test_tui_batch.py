"""A frame interval's batch (tui/batch.py): what it keeps, in which order it applies, how
two batches merge in the App's queue, and the session's coalescer that posts them."""

from __future__ import annotations

from typing import Any

from core import protocol
from tests.unit.test_tui_model import _digest
from tui import batch as batches
from tui.batch import KEEP_EVENTS, Batch
from tui.messages import DigestUpdate, FleetChanges
from tui.model import FleetModel
from tui.sources import frozen_data
from tui.sources.coalesce import Coalescer


def _event(i: int, kind: str = "host.down", host: str = "h1", **data: Any) -> dict[str, Any]:
    return {"id": f"e{i}", "ts": 100.0 + i, "kind": kind, "host": host, "severity": "warning",
            "message": f"{kind} {host}", "data": data}


def _alert(aid: str, state: str = "firing", severity: str = "critical") -> dict[str, Any]:
    return frozen_data.alert(aid, "host_down", "h1", severity, "up", 20.0, 15.0, 100.0,
                             state=state)


def _model(*hosts: str) -> FleetModel:
    model = FleetModel()
    for h in hosts:
        model.apply_host("b", h, "hello", 1.0, {"os": "Linux"})
    return model


def test_a_flood_keeps_the_newest_events_and_counts_every_one() -> None:
    batch = Batch()
    for i in range(KEEP_EVENTS + 300):
        batch.add_event(_event(i, "host.down" if i % 2 else "host.up"))
    assert len(batch.events) == KEEP_EVENTS and batch.dropped == 300
    assert batch.events[0]["id"] == "e300" and batch.events[-1]["id"] == f"e{KEEP_EVENTS + 299}"
    assert batch.kinds == {"host.up": 250, "host.down": 250}
    model = _model()
    version = model.events_version
    batches.apply(model, "b", batch)
    assert [e["id"] for e in model.events][-3:] == [f"e{i}" for i in range(497, 500)]
    assert model.events_dropped == 300 and model.event_kinds["host.down"] == 250
    assert model.events_version == version + 1  # one pass: the tail is refilled once


def test_alerts_dedup_by_id_the_last_state_wins_and_new_criticals_are_returned() -> None:
    batch = Batch()
    batch.add_alert(_alert("a1", "pending"))
    batch.add_alert(_alert("a2", "firing", "warning"))
    batch.add_alert(_alert("a1", "firing"))
    # an ack event carries the alert as it is now
    batch.add_event(_event(1, "ack", alert={**_alert("a2", "firing", "warning"),
                                                              "acked": True}))
    assert list(batch.alerts) == ["a1", "a2"] and batch.alerts["a2"]["acked"]
    model = _model("h1")
    new = batches.apply(model, "b", batch)
    assert [a["id"] for a in new] == ["a1"]  # a critical that started firing: toasted once
    assert model.alerts["a1"]["state"] == "firing" and model.alerts["a2"]["acked"]


def test_silences_apply_in_order_after_the_alerts() -> None:
    batch = Batch()
    batch.add_alert(_alert("a1"))
    batch.add_event(_event(1, "silence", silence={"id": "s1"}, alerts=["a1"]))
    batch.add_event(_event(2, "silence", silence={"id": "s2"}, alerts=["a1"]))
    batch.add_event(_event(3, "unsilence", silence={"id": "s1"}))
    model = _model("h1")
    batches.apply(model, "b", batch)
    assert model.alerts["a1"]["silenced"] == ["s2"]


def test_host_changes_keep_their_order_with_that_hosts_metrics() -> None:
    model = _model("h1", "h2", "h3")
    batch = Batch()
    batch.add_metrics("h1", 10.0, {"cpu.percent": 1.0})
    batch.add_host("h1", "down", 11.0, {})  # after its metrics: it is down
    batch.add_host("h2", "down", 10.0, {})
    batch.add_metrics("h2", 11.0, {"cpu.percent": 2.0})  # reporting again: up
    batch.add_metrics("h3", 10.0, {"cpu.percent": 3.0})
    batch.add_host("h3", "down", 11.0, {})
    batch.add_metrics("h3", 12.0, {"mem.percent": 4.0})  # the down came between: up
    batches.apply(model, "b", batch)
    assert [model.hosts[h].status for h in ("h1", "h2", "h3")] == ["down", "up", "up"]
    assert model.hosts["h3"].metrics == {"cpu.percent": 3.0, "mem.percent": 4.0}


def test_a_flapping_host_keeps_its_last_hello_and_where_it_is_now() -> None:
    batch = Batch()
    batch.add_host("h1", "hello", 1.0, {"os": "BSD"})
    for i in range(10):
        batch.add_host("h1", "down" if i % 2 else "up", 2.0 + i, {})
    assert len(batch.hosts_first["h1"]) <= 4
    model = _model("h1")
    batches.apply(model, "b", batch)
    assert model.hosts["h1"].status == "down" and model.hosts["h1"].info == {"os": "BSD"}


def test_a_forgotten_host_leaves_on_its_event_alone() -> None:
    """A console following a view of a big fleet hears h.<host> frames of the hosts it
    shows only; the host.forgotten event reaches it for every host."""
    model = _model("h1", "h2")
    model.apply_metrics("b", "h1", 2.0, {"cpu.percent": 5.0})
    batch = Batch()
    batch.add_event(_event(1, "host.forgotten", "h1", reason="silent for over 7 days"))
    batches.apply(model, "b", batch)
    assert set(model.hosts) == {"h2"}


def test_a_host_the_digest_no_longer_lists_leaves_with_its_history() -> None:
    model = FleetModel()
    assert model.apply_digest("b1", _digest(["a", "b", "c"], "uuu", cpu=[1.0, 2.0, 3.0]))
    model.apply_digest("b2", _digest(["c"], "u", cpu=[3.0]))  # c: another broker has it too
    model.apply_metrics("b1", "b", 1.0, {"cpu.percent": 2.0, "mem.percent": 9.0})
    assert model.apply_digest("b1", _digest(["a"], "u", cpu=[1.0]))
    assert set(model.hosts) == {"a", "c"} and model.hosts["c"].sources == {"b2"}


def test_a_batch_waiting_in_the_queue_takes_in_the_next_one() -> None:
    older, newer = Batch(), Batch()
    for i in range(150):
        older.add_event(_event(i))
    older.add_metrics("h1", 1.0, {"cpu.percent": 1.0, "mem.percent": 10.0})
    older.add_alert(_alert("a1", "pending"))
    for i in range(150, 300):
        newer.add_event(_event(i, "host.up"))
    newer.add_host("h1", "down", 2.0, {})
    newer.add_metrics("h1", 3.0, {"cpu.percent": 2.0})
    newer.add_alert(_alert("a1"))
    first, second = FleetChanges("b", older), FleetChanges("b", newer)
    assert not first.can_replace(FleetChanges("other broker", Batch()))
    assert first.can_replace(second)  # Textual then drops ``first`` and handles ``second``
    merged = second.batch
    assert len(merged.events) == KEEP_EVENTS and merged.dropped == 100
    assert merged.events[-1]["id"] == "e299"
    assert merged.kinds == {"host.down": 150, "host.up": 150}
    assert merged.metrics["h1"] == (3.0, {"cpu.percent": 2.0, "mem.percent": 10.0})
    assert merged.alerts["a1"]["state"] == "firing"
    model = _model("h1")
    batches.apply(model, "b", merged)
    assert model.hosts["h1"].status == "up"  # its metrics came after the down


def test_the_coalescer_posts_one_message_a_flush_and_the_digest_after_what_came_first() -> None:
    posted: list[Any] = []
    co = Coalescer("b", posted.append)
    co.flush()
    assert posted == []  # nothing arrived: nothing posted
    for i in range(1000):
        co.frame(protocol.event_frame(_event(i, host=f"h{i % 50}")))
    co.frame(protocol.alert_frame(_alert("a1"), 5.0, _event(1001, "alert")))
    co.frame(protocol.host_frame("h1", "down", 5.0))
    co.frame(protocol.metrics_frame("h2", "ag", "boot", 1, 5.0, {"cpu.percent": 3.0}))
    co.frame(protocol.digest_frame({"hosts": []}, 6.0))
    co.frame(protocol.hello_frame("h3", "ag", "boot", 2, 7.0, {"os": "Linux"}))
    co.flush()
    assert [type(m) for m in posted] == [FleetChanges, DigestUpdate, FleetChanges]
    first = posted[0].batch
    assert sum(first.kinds.values()) == 1001 and first.dropped == 1001 - KEEP_EVENTS
    assert "a1" in first.alerts and first.hosts_first["h1"] == [("down", 5.0, {})]
    assert first.metrics["h2"][1] == {"cpu.percent": 3.0}
    assert posted[2].batch.hosts_first["h3"] == [("hello", 7.0, {"os": "Linux"})]
    assert co.posted == 2
