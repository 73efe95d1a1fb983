"""The publish socket's subscriptions, as the core loop tracks them (broker/ingest/wanted.py)."""

from __future__ import annotations

from broker.ingest.wanted import Wanted
from core import protocol


def test_exact_partial_and_wide_subscriptions() -> None:
    w = Wanted()
    db1, db10 = protocol.host_topic("db-1"), protocol.host_topic("db-10")
    assert not w.wants(db1)
    w.update(b"\x01" + db1)
    assert w.wants(db1) and not w.wants(db10)  # the end byte keeps db-10 out
    w.update(b"\x01" + b"m.db")  # an old-style prefix: both
    assert w.wants(db10)
    w.update(b"\x00" + b"m.db")
    assert not w.wants(db10)
    for wide in (b"", b"m", b"m."):
        w.update(b"\x01" + wide)
        assert w.wants(db10)
        w.update(b"\x00" + wide)
        assert not w.wants(db10)
    w.update(b"\x01a.")  # alerts: nothing to do with metrics
    w.update(b"junk")  # not a subscription message: ignored
    w.update(b"")
    assert not w.wants(db10) and w.wants(db1)
    w.update(b"\x00" + db1)
    assert not w.wants(db1)
