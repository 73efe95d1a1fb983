"""Helpers shared by the store, search and rollup tests: a real store in tmp_path."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from broker.store.store import Store
from core.clock import FakeClock

T0 = 1_700_000_000.0


def ev(kind: str = "log", message: str = "", *, ts: float = T0, host: str = "",
       severity: str = "info", rule: str = "", alert_id: str = "",
       data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "ts": ts, "kind": kind, "host": host,
            "severity": severity, "rule": rule, "alert_id": alert_id, "message": message,
            "data": data or {}}


@contextlib.contextmanager
def running_store(path: Path, clock: FakeClock | None = None, start: bool = True,
                  **kw: Any) -> Iterator[Store]:
    store = Store(path, clock=clock or FakeClock(T0), batch_interval=0.01, **kw).open()
    if start:
        store.start()
    try:
        yield store
    finally:
        store.stop()
