"""Frozen data for snapshots, screenshots, Pilot tests and the benchmark.

``FrozenSource`` replays fixed data with a frozen clock and records every request it gets.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, cast

from core.clock import FakeClock
from tui.messages import AlertChanged, BrokerStatus, ConnectionState, EventReceived, Reply, Snapshot
from tui.sources import frozen_data, frozen_incident
from tui.sources.base import DataSource

if TYPE_CHECKING:
    from tui.sources.frozen_store import FrozenQueries


class FrozenSource(DataSource):
    """Fixed hosts, values, alerts and events at a frozen instant.

    It answers requests from its own copy of the data, the way a broker would, so every key
    of the UI works against it; ``requests`` records them for tests.
    """

    name = "frozen"

    def __init__(self, snapshot: dict[str, Any] | None = None, now: float = frozen_data.NOW,
                 live: bool = True) -> None:
        super().__init__()
        self.clock = FakeClock(now)
        self.snapshot = copy.deepcopy(snapshot or frozen_data.snapshot(now))
        self.stored_only = [] if snapshot else frozen_incident.log_lines(now)  # the store
        # has them (the incident view's log lines), the live tail does not: older history
        self.silences: list[dict[str, Any]] = self.snapshot.pop("silences", [])
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.connected = live
        self._queries: FrozenQueries | None = None

    @property
    def queries(self) -> FrozenQueries:
        """``search``, ``history`` and ``incident`` through the broker's own handlers and a real store
        of the frozen events and series (built on first use: pictures rarely need it)."""
        if self._queries is None:
            from tui.sources.frozen_store import FrozenQueries

            series = {h["host"]: h.get("history") or {} for h in self.snapshot["hosts"]}
            self._queries = FrozenQueries(self.clock, self.snapshot["events"] + self.stored_only,
                                          series, lambda: (self.snapshot, self.silences))
        return self._queries

    @property
    def names(self) -> list[str]:
        return [self.name]

    def start(self) -> None:
        if not self.connected:
            self.post(ConnectionState(self.name, "unreachable",
                                      "cannot reach broker at frozen (no reply in 3 s)"))
            return
        self.post(ConnectionState(self.name, "connected", "frozen data"))
        self.post(Snapshot(self.name, copy.deepcopy(self.snapshot)))
        self.post(BrokerStatus(self.name, dict(self.snapshot.get("broker", {}))))

    def request(self, op: str, args: dict[str, Any], brokers: list[str] | None = None,
                req_id: str | None = None) -> str:
        req_id = req_id or self.next_id()
        self.requests.append((op, dict(args)))
        if op in ("search", "history", "thresholds", "incident", "fleet_at"):
            reply = self.queries.answer(op, args)
            self.post(Reply(req_id, op, bool(reply["ok"]), reply.get("result"),
                            str(reply.get("error") or ""), self.name))
            return req_id
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            self.post(Reply(req_id, op, False, error=f"unknown op '{op}'", source=self.name))
            return req_id
        try:
            result = handler(**args)
        except (KeyError, ValueError, TypeError) as exc:  # worded as the broker words them
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            self.post(Reply(req_id, op, False, error=f"{op}: {msg}", source=self.name))
        else:
            self.post(Reply(req_id, op, True, result=result, source=self.name))
        return req_id

    # ---------------------------------------------------------------- broker ops
    def _alert(self, alert_id: str) -> dict[str, Any]:
        for alert in self.snapshot["alerts"]:
            if alert["id"] == alert_id:
                return alert
        raise KeyError(f"no alert with id '{alert_id}'")

    def _changed(self, alert: dict[str, Any], kind: str, message: str) -> None:
        event = frozen_data.event(kind, message, self.clock.time(), host=alert["host"],
                                  rule=alert["rule"], alert_id=alert["id"],
                                  severity=alert["severity"])
        self.snapshot["events"].append(event)
        if self._queries is not None:
            self._queries.store.put(cast(Any, dict(event)))
            self._queries.store.flush()
        self.post(AlertChanged(self.name, copy.deepcopy(alert)))
        self.post(EventReceived(self.name, event))

    def _op_snapshot(self, host: str = "") -> dict[str, Any]:
        return copy.deepcopy(self.snapshot)

    def _op_status(self) -> dict[str, Any]:
        return dict(self.snapshot.get("broker", {}))

    def _op_alerts(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.snapshot["alerts"])

    def _op_rules(self) -> list[dict[str, Any]]:
        from tui.sources.frozen_store import broker_rules

        return broker_rules()

    def _op_ack(self, alert_id: str, author: str = "", comment: str = "",
                sticky: bool = True, expires: Any = None) -> dict[str, Any]:
        alert = self._alert(alert_id)
        alert["acked"] = True
        alert["ack"] = {"author": author or "anonymous", "comment": comment,
                        "sticky": bool(sticky), "expires": None, "ts": self.clock.time()}
        self._changed(alert, "ack", f"{alert['rule']} on {alert['host']} acknowledged")
        return {"alert_id": alert_id, "acked": True}

    def _op_unack(self, alert_id: str, author: str = "") -> dict[str, Any]:
        alert = self._alert(alert_id)
        alert["acked"], alert["ack"] = False, None
        self._changed(alert, "unack", f"{alert['rule']} on {alert['host']} unacknowledged")
        return {"alert_id": alert_id, "acked": False}

    def _op_silence(self, matchers: Any = None, duration: Any = "2h", author: str = "",
                    comment: str = "") -> dict[str, Any]:
        from tui.sources.frozen_store import new_silence

        silence, parsed = new_silence(matchers, duration, author, comment, self.clock.time())
        self.silences.append(silence)
        for alert in self.snapshot["alerts"]:
            if frozen_data.matches(alert, parsed):
                alert["silenced"] = [*alert.get("silenced", []), silence["id"]]
                self._changed(alert, "silence", f"{alert['rule']} on {alert['host']} silenced")
        return silence

    def _op_unsilence(self, silence_id: str, author: str = "") -> dict[str, Any]:
        if not any(s["id"] == silence_id for s in self.silences):
            raise KeyError(f"no silence with id {silence_id!r}")
        self.silences = [s for s in self.silences if s["id"] != silence_id]
        return {"silence_id": silence_id, "removed": True}

    def _op_forget(self, host: str, author: str = "") -> dict[str, Any]:
        hosts = self.snapshot["hosts"]
        if not any(h["host"] == host for h in hosts):
            raise KeyError(f"forget: no host '{host}'")
        self.snapshot["hosts"] = [h for h in hosts if h["host"] != host]
        return {"host": host, "forgotten": True}

    def _op_silences(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.silences)

    def _op_simulate(self, name: str, host: str = "") -> dict[str, Any]:
        from tui.sources.frozen_store import simulated

        rule, metric, value, threshold, severity = simulated(name)
        alert = frozen_data.alert(f"sim{len(self.snapshot['alerts'])}", rule, host or "web-1",
                                  severity, metric or "up", value, threshold,
                                  self.clock.time(), simulated=True)
        self.snapshot["alerts"].append(alert)
        self._changed(alert, "simulate", f"simulating {name} on {alert['host']}")
        return {"scenario": name, "host": alert["host"], "alert_ids": [alert["id"]]}

    def stop(self) -> None:
        if self._queries is not None:
            self._queries.close()
            self._queries = None
