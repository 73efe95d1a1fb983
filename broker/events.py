"""The event vocabulary: what every part of the broker says happened, in one shape.

An event is stored (broker/store), published (topic ``e.<kind>``, or ``a.<severity>`` and
``l.<host>`` for alerts and log lines) and routed to notifiers (broker/notify). The bus that
carries events between threads is broker/bus.py. The kinds emitted today are listed in
``KINDS``; docs/internals.md explains each.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, NotRequired, TypedDict

from core.protocol import SEVERITIES

__all__ = ["KINDS", "SEVERITIES", "Event", "make_event"]

KINDS = (
    "alert",            # an alert changed state (data.alert is the alert's public dict)
    "log",              # a log line from an agent
    "host.up", "host.down", "host.restart",
    "ingest.rejected",  # a frame refused by validation (data.reason)
    "broker.start", "rules.reload",
    "ack", "unack", "silence", "unsilence", "simulate",
    "notify.sent", "notify.failed",
    "store.error", "store.state",  # a write failed; the store became ok/failing/read-only
    "restart",          # a supervised component was restarted (data.child, data.reason)
    "audit",            # a state-changing control request (data.who, role, op, from, ok)
    "keys.reload",      # the broker re-read its keys directory (data.removed: names cut off)
)


class Event(TypedDict):
    id: str
    ts: float
    kind: str
    host: str
    severity: str
    rule: str
    alert_id: str
    message: str
    data: dict[str, Any]
    seq: NotRequired[int]  # the store's row number, on events read back from the store


# Event ids: 32 hex digits like a uuid4's, made of a random per-process prefix and a
# counter. uuid4() reads os.urandom for every event: 13 % of the core thread when a fleet
# of 10,000 hosts went down and up at once (py-spy). Unique within a process by the
# counter, across processes and restarts by the 64 random bits.
_PREFIX = os.urandom(8).hex()
_COUNT = itertools.count(int.from_bytes(os.urandom(4), "big"))


def new_id() -> str:
    return f"{_PREFIX}{next(_COUNT) & 0xFFFFFFFFFFFFFFFF:016x}"


def make_event(kind: str, message: str, *, ts: float, host: str = "", severity: str = "info",
               rule: str = "", alert_id: str = "", data: dict[str, Any] | None = None) -> Event:
    return {"id": new_id(), "ts": float(ts), "kind": kind, "host": host or "",
            "severity": severity, "rule": rule or "", "alert_id": alert_id or "",
            "message": message, "data": data or {}}
