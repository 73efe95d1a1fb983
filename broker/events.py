"""The event vocabulary: what every part of the broker says happened, in one shape.

An event is stored (broker/store), published (topic ``e.<kind>``, or ``a.<severity>`` and
``l.<host>`` for alerts and log lines) and routed to notifiers (broker/notify). The bus that
carries events between threads is broker/bus.py. The kinds emitted today are listed in
``KINDS``; docs/internals.md explains each.
"""

from __future__ import annotations

import uuid
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


def make_event(kind: str, message: str, *, ts: float, host: str = "", severity: str = "info",
               rule: str = "", alert_id: str = "", data: dict[str, Any] | None = None) -> Event:
    return {"id": uuid.uuid4().hex, "ts": float(ts), "kind": kind, "host": host or "",
            "severity": severity, "rule": rule or "", "alert_id": alert_id or "",
            "message": message, "data": data or {}}
