"""Every app-wide Message of monitor-tui.

The client worker (or a FrozenSource) posts these to the App; nothing else crosses from the
transport into the UI. Each carries ``source``, the broker it came from, so several brokers
can be merged by name in the model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message
from textual.widget import Widget

from tui.batch import Batch

Metrics = dict[str, float]


@dataclass
class Snapshot(Message):
    """A full, consistent state from one broker (first sync and every resync)."""

    source: str
    snapshot: dict[str, Any]


@dataclass
class MetricsUpdate(Message):
    """The newest metrics of some hosts: ``updates`` maps host -> (ts, metrics).

    Floods are coalesced twice: the client keeps only the newest sample per host between
    posts, and a batch still waiting in the App's queue is merged into the next one
    (``can_replace``), per host, so a slow UI drops stale samples instead of lagging.
    """

    source: str
    updates: dict[str, tuple[float, Metrics]] = field(default_factory=dict)

    def can_replace(self, message: Message) -> bool:
        # Textual asks the older queued message whether the next one supersedes it.
        if not isinstance(message, MetricsUpdate) or message.source != self.source:
            return False
        for host, (ts, metrics) in self.updates.items():
            newer = message.updates.get(host)
            if newer is None:
                message.updates[host] = (ts, metrics)
            else:
                message.updates[host] = (newer[0], {**metrics, **newer[1]})
        return True


@dataclass
class FleetChanges(Message):
    """What one broker sent within a frame interval (tui/batch.py): the session thread
    posts one of these at most 10 times a second, however many frames came. A batch still
    waiting in the App's queue takes in the next one (``can_replace``): a UI that fell
    behind applies both in one pass, events beyond what the tail shows counted, not kept."""

    source: str
    batch: Batch

    def can_replace(self, message: Message) -> bool:
        if not isinstance(message, FleetChanges) or message.source != self.source:
            return False
        self.batch.extend(message.batch)
        message.batch = self.batch
        return True


@dataclass
class DigestUpdate(Message):
    """The broker's fleet digest (core/digest.py), once a second: a newer one replaces a
    digest still waiting in the App's queue."""

    source: str
    digest: dict[str, Any]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DigestUpdate) and message.source == self.source


@dataclass
class HostChanged(Message):
    """A host went up or down, or said hello (``info`` then holds its hello info)."""

    source: str
    host: str
    status: str
    ts: float
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class AlertChanged(Message):
    """An alert changed state (fired, resolved, acked, silenced...): the full alert dict."""

    source: str
    alert: dict[str, Any]


@dataclass
class EventReceived(Message):
    """One event of the broker's event bus (see docs/internals.md for its shape)."""

    source: str
    event: dict[str, Any]


@dataclass
class BrokerStatus(Message):
    """The reply to the periodic ``status`` request (ingest rate, uptime...)."""

    source: str
    status: dict[str, Any]


@dataclass
class ConnectionState(Message):
    """connecting | connected | reconnecting | unreachable, with a line for a person."""

    source: str
    state: str
    detail: str = ""


@dataclass
class Reply(Message):
    """The reply to a request the UI made through the data source."""

    req_id: str
    op: str
    ok: bool
    result: Any = None
    error: str = ""
    source: str = ""


def owner_gone(callback: Any) -> bool:
    """A reply callback bound to a widget that is no longer mounted: calling it would query
    children that are gone (seen: the compare chart's thresholds arriving after it closed)."""
    while isinstance(callback, functools.partial):
        callback = callback.func
    owner = getattr(callback, "__self__", None)
    return isinstance(owner, Widget) and not owner.is_attached
