"""What the core loop needs of the parts around it: the interfaces at its seams.

The loop (broker/ingest/loop.py) and the frame handler (broker/ingest/handler.py) know the
alert engine, the metric sink (the store's rollups) and the control side only through these
Protocols; broker/system.py wires the real ones in (Alertmanager's ``provider.Alerts``
interface is the model: the dispatcher never sees the implementation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from broker.events import Event

if TYPE_CHECKING:
    from core.keydir import Identity


class AlertEngine(Protocol):
    """broker/alerting/engine.AlertEngine as the ingest side uses it."""

    def set_origin(self, host: str, agent: str, boot: str, seq: int) -> None: ...

    def on_sample(self, host: str, metrics: Mapping[str, float],
                  labels: Mapping[str, str] | None, now: float,
                  alive: bool = True, steady: bool = False,
                  origin: tuple[str, str, int] | None = None) -> list[Event]: ...

    def on_log(self, host: str, level: str, message: str, source: str,
               now: float) -> list[Event]: ...

    def tick(self, now: float, seen_by: float | None = None) -> list[Event]: ...

    def host_stopped(self, host: str, now: float) -> list[Event]: ...

    def knows(self, host: str) -> bool: ...

    def forget(self, host: str, now: float, why: str) -> list[Event]: ...

    def silent_hosts(self, now: float, after: float) -> list[str]: ...

    def alerts(self, now: float | None = None) -> list[dict[str, Any]]: ...

    def active_counts(self) -> dict[str, int]: ...


class MetricSink(Protocol):
    """Where every accepted sample also goes (the store's rollups); must not block. The
    metrics are validated: every value a finite number. ``names``: ``tuple(metrics)`` when
    the caller has it (the steady lane's shared tuple, broker/layout.py)."""

    def record_metrics(self, host: str, metrics: dict[str, float], ts: float,
                       names: tuple[str, ...] | None = None) -> None: ...


class RequestHandler(Protocol):
    """The control side: one request off the ROUTER socket, answered through ``reply``."""

    def handle(self, identity: bytes, payload: bytes, who: Identity, address: str) -> None:
        ...
