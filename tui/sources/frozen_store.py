"""The frozen source's queries answered by the broker's own code: a real event store.

The frozen events go into a real ``broker.store.Store`` (SQLite in a temporary directory,
the frozen clock), the frozen series into its rollups, and ``search`` and ``history``
(and ``thresholds``, through an alert engine of the shipped rules) requests run through the
broker's own control handlers (``broker.api.control.Control``):
the same query language, paging, steps and refusals as a real broker, word for word.

This is the one place under tui/ that imports broker code, and only the frozen source
(snapshots, screenshots, Pilot tests, the benchmark) uses it; the live console never does.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from broker.alerting.engine import AlertEngine
from broker.alerting.rules import default_rules
from broker.alerting.scenarios import scenario
from broker.alerting.silences import make_silence
from broker.api import agent_ops
from broker.api.control import Control
from broker.ingest.history import History
from broker.store.rollups import Rollups
from broker.store.store import Store
from core import protocol
from core.clock import Clock
from core.config import parse_duration
from core.matchers import Matcher
from tui.sources import frozen_data, frozen_incident, frozen_past

HISTORY_S, SAMPLE_S = 3600, 60  # an hour of frozen samples, one a minute


class FrozenQueries(Control):
    """The broker's store-backed request handlers over a store of frozen data."""

    OPS = ("search", "history", "thresholds", "incident", "fleet_at")

    def __init__(self, clock: Clock, events: list[dict[str, Any]],
                 series: dict[str, dict[str, list[float]]],
                 state: Callable[[], tuple[dict[str, Any], list[dict[str, Any]]]] | None = None
                 ) -> None:
        # Not Control.__init__: no core loop and no sockets, only what the handlers read.
        self._dir = Path(tempfile.mkdtemp(prefix="monitor-frozen-"))
        self.store = Store(self._dir / "events.db", clock=clock, synchronous="NORMAL").open()
        self._state = state or (lambda: ({"alerts": [], "hosts": []}, []))
        info = {h["host"]: h for h in self._state()[0].get("hosts", [])}
        hosts = {host: SimpleNamespace(metrics={k: v[-1] for k, v in m.items() if v},
                                       history=History(1),
                                       info=info.get(host, {}).get("info") or {},
                                       labels=info.get(host, {}).get("labels") or {})
                 for host, m in series.items()}
        # ``call``: the core thread's part of a request runs in place (there is no loop)
        self.core = cast(Any, SimpleNamespace(clock=clock, state=SimpleNamespace(hosts=hosts),
                                              engine=AlertEngine(),
                                              call=lambda fn, timeout=5.0: fn(),
                                              pseq=1000, nseq=1000))
        self.system = SimpleNamespace(store=self.store, notifier=SimpleNamespace(
            recent=lambda limit, alert_id="", episode="":
            frozen_incident.notifications(clock.time(), alert_id)[:limit]))
        self.requests = self.errors = 0
        now = clock.time()
        past = frozen_past.events(now)  # the incident rewind shows (tui/sources/frozen_past)
        for event in sorted([*past, *events], key=lambda e: e["ts"]):
            event = dict(event)  # a broker stores them as they come, the opening ones with
            data = event.get("data") or {}  # the host's top processes of that moment
            if event["kind"] == "alert" and data.get("from") == "inactive":
                event["data"] = {**data, "processes": frozen_incident.processes(
                    event["host"], event["ts"] - 2, start=True)}
            self.store.put(cast(Any, event))
        for host, sample, ts in frozen_past.samples(now):
            self.store.record_metrics(host, sample, ts)
        self._series = series
        self._past: set[str] = set()  # hosts whose 30 days are in the store
        for host, metrics in series.items():
            for name, values in metrics.items():
                for i, value in enumerate(values[-HISTORY_S // SAMPLE_S:]):
                    n = min(len(values), HISTORY_S // SAMPLE_S)
                    self.store.record_metrics(host, {name: value}, now - (n - i) * SAMPLE_S)
        self.store.flush()

    def _long_past(self, host: Any) -> None:
        """30 days of hourly and 2 days of minute rollups for a named host (not the bench's
        generated ones), in the broker's own rollup table, the first time it is asked for."""
        if host not in frozen_data.NAMES or host in self._past:
            return
        self._past.add(host)
        now = self.core.clock.time()
        until = frozen_past.since(now)  # from there on, the incident's own samples
        rows = [(step, host, name, ts, mn, mx, sm, n)
                for name, values in self._series.get(host, {}).items()
                for step, ts, mn, mx, sm, n in frozen_data.long_rollups(host, name, values,
                                                                        now) if ts < until]
        conn = sqlite3.connect(str(self._dir / "events.db"), timeout=30)
        try:
            with conn:
                Rollups.persist(conn, rows)
        finally:
            conn.close()

    def answer(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """The reply a broker sends: ``{"id", "ok", "result"}`` or ``{"id", "ok", "error"}``."""
        handler: Any = {"search": self.search, "history": self.history,
                        "thresholds": functools.partial(agent_ops.thresholds, self.core),
                        "incident": self.incident, "fleet_at": self.fleet_at}[op]
        if op == "history":  # as Control.handle does on the core thread
            self._long_past(args.get("host"))
            args = self.history_live(args)
        if op == "fleet_at":  # the whole fleet's past, whichever hosts were charted before
            for host in self._series:
                self._long_past(host)
        payload, _ = self._call("frozen", op, handler, args)
        return protocol.unpack_reply(payload)

    def incident_state(self, alert_id: str) -> dict[str, Any]:
        snapshot, silences = self._state()
        return frozen_incident.incident_state(snapshot, silences, alert_id, self.core.clock.time())

    def close(self) -> None:
        try:
            self.store.stop()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)


def broker_rules() -> list[dict[str, Any]]:
    """The ``rules`` reply of a broker with the shipped rules."""
    return [r.to_dict() for r in default_rules()]


def simulated(name: str) -> tuple[str, str, float, float, str]:
    """(rule, metric, value, threshold, severity) of a scenario, as the engine picks them;
    ValueError for a name the broker does not know."""
    rule, metric, value, threshold, severity = scenario(name, default_rules())
    return rule.name, metric, value, threshold, severity


def new_silence(matchers: Any, duration: Any, author: str, comment: str,
                now: float) -> tuple[dict[str, Any], list[Matcher]]:
    """A silence as the broker makes it (same checks, same refusals, same reply)."""
    if not isinstance(matchers, list) or not matchers or \
            not all(isinstance(m, str) for m in matchers):
        raise ValueError("'matchers' must be a non-empty list like ['host=web-1']")
    seconds = parse_duration(duration, "duration")
    if seconds <= 0:
        raise ValueError("duration must be positive")
    sil = make_silence(matchers, seconds, author or "anonymous", comment, now)
    return sil.to_dict(now), list(sil.matchers)
