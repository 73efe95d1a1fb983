"""The outbox knows which alerts (and episodes) each notification carried: the incident
view's "notifications sent about this alert", an indexed lookup on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from broker.notify.base import Notification
from broker.notify.outbox import Outbox


def note(nid: str, *alerts: tuple[str, str]) -> Notification:
    return Notification(id=nid, receiver="hook", status="firing",
                        alerts=[{"id": a, "episode": ep, "state": "firing"} for a, ep in alerts])


def test_recent_filters_by_alert_and_episode(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "notify.db")
    box.add(note("n1", ("a1", "e1")), "first", 100.0, 3600)
    box.add(note("n2", ("a1", "e2"), ("b2", "e9")), "grouped", 200.0, 3600)
    box.add(note("n3", ("b2", "e9")), "other", 300.0, 3600)
    assert [r["id"] for r in box.recent()] == ["n3", "n2", "n1"]
    assert [r["id"] for r in box.recent(alert_id="a1")] == ["n2", "n1"]
    assert [r["id"] for r in box.recent(alert_id="a1", episode="e2")] == ["n2"]
    assert [r["id"] for r in box.recent(alert_id="b2")] == ["n3", "n2"]
    assert box.recent(alert_id="zz") == []
    assert [r["id"] for r in box.recent(1, alert_id="a1")] == ["n2"]
    box.mark_delivered("n1", 101.0)
    assert box.prune(before=1000.0) == 1  # n1 is done: its index rows go with it
    assert [r["id"] for r in box.recent(alert_id="a1")] == ["n2"]
    box.close()
    conn = sqlite3.connect(tmp_path / "notify.db")
    assert {r[0] for r in conn.execute("SELECT id FROM outbox_alerts")} == {"n2", "n3"}
    conn.close()


def test_a_file_from_before_the_index_is_filled_from_the_payloads(tmp_path: Path) -> None:
    path = tmp_path / "notify.db"
    box = Outbox(path)
    box.add(note("old1", ("a1", "e1")), "old", 100.0, 3600)
    box.add(note("old2", ("c3", "e3")), "old", 110.0, 3600)
    box.close()
    conn = sqlite3.connect(path)  # as a broker of the last release left it
    conn.execute("DROP TABLE outbox_alerts")
    conn.execute("DELETE FROM state WHERE key = 'outbox_alerts'")
    conn.commit()
    conn.close()
    box = Outbox(path)
    assert [r["id"] for r in box.recent(alert_id="a1", episode="e1")] == ["old1"]
    assert [r["id"] for r in box.recent(alert_id="c3")] == ["old2"]
    box.close()
