"""The ``incident`` op: everything about one alert in one reply, for the console's incident
view (tui/screens/incident.py) and ``monitor-ctl incident``.

It runs on the query thread (it reads the store). What lives in memory (the alert as the
engine sees it now, the host's other alerts, the silences and inhibitions that touch it,
the host's processes now) is read in one call on the core thread (``core.call``); the
rest comes from the event store (log lines from 5 minutes before the start, the alert's
timeline, its opening event with the processes at the start) and the notification outbox
(what was sent about this episode and whether it arrived).

An alert the engine no longer holds (resolved more than 15 minutes ago) is rebuilt from
its latest ``alert`` event in the store; an id neither knows is a clear error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from broker.api.args import RequestError
from broker.api.args import opt_str as _opt_str
from broker.api.args import req_str as _req_str

LOG_BEFORE_S = 300.0  # log lines from this long before the start
LEAD_S = 600.0  # the lead-up window: start - LOG_BEFORE_S .. start + this
LOG_LIMIT = 150  # lines of the lead-up, and again of the latest (a long incident)
TIMELINE_LIMIT = 50
NOTIFY_LIMIT = 20
OTHER_LIMIT = 20
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _at(ts: float) -> str:
    """A time for the search language: unix seconds (it takes 9+ digits as such)."""
    return f"{max(ts, 1e9):.3f}"


class IncidentOps:
    """Mixed into broker/api/control.Control (``self.core``, ``self.system``, ``_store``)."""

    core: Any
    system: Any
    _store: Callable[[], Any]  # StoreOps

    def incident(self, args: dict[str, Any]) -> dict[str, Any]:
        alert_id = _req_str(args, "alert_id")
        episode = _opt_str(args, "episode")
        for key, val in (("alert_id", alert_id), ("episode", episode)):
            if val and not _ID.fullmatch(val):
                raise RequestError(f"'{key}' {val[:70]!r} is not an id (letters, digits, "
                                   "'_', '-', '.'; up to 64)")
        live = self.core.call(lambda: self.incident_state(alert_id))
        now = self.core.clock.time()
        store = self._store()
        alert = live["alert"]
        if alert is None or (episode and alert.get("episode") != episode):
            alert = self._stored_alert(store, alert_id, episode)
        if alert is None:
            what = f"episode '{episode}' of alert '{alert_id}'" if episode else \
                f"alert '{alert_id}'"
            raise RequestError(f"no {what}: not active, and not in the event log")
        host = str(alert.get("host") or "")
        start = float(alert.get("started_at") or now)
        logs, more = self._logs(store, host, start, now)
        opening = self._opening(store, alert_id, start)
        notifier = self.system.notifier
        sent = notifier.recent(NOTIFY_LIMIT, alert_id, str(alert.get("episode") or "")) \
            if notifier is not None else []
        return {
            "alert": alert, "now": now, "host": live["host"],
            "silences": live["silences"], "inhibitions": live["inhibitions"],
            "others": live["others"],
            "processes": {"start": (opening.get("data") or {}).get("processes"),
                          "now": live["processes"]},
            "notifications": sent,
            "timeline": sorted(store.search(f"alert:{alert_id} since:{_at(start - 1)}",
                                            limit=TIMELINE_LIMIT, now=now),
                               key=lambda e: e["ts"]),
            "logs": logs, "logs_more": more,
        }

    # ------------------------------------------------------------ the core thread's part

    def incident_state(self, alert_id: str) -> dict[str, Any]:
        """What the engine and the state cache know now (runs on the core thread)."""
        engine = self.core.engine
        out: dict[str, Any] = {"alert": None, "host": None, "silences": [],
                               "inhibitions": [], "others": [], "processes": None}
        a = engine.book.by_id.get(alert_id) if engine is not None else None
        if a is None:
            return out
        book, now = engine.book, self.core.clock.time()
        alert = out["alert"] = book.to_dict(a, now)
        silenced = set(alert.get("silenced") or ())
        out["silences"] = [s.to_dict(now) for s in book.silences.by_id.values()
                           if s.id in silenced]
        if alert.get("inhibited"):
            out["inhibitions"] = inhibitions(book, a, alert_id)
        out["others"] = [book.to_dict(o, now) for o in book.by_id.values()
                         if o.host == a.host and o.id != alert_id][:OTHER_LIMIT]
        hs = self.core.state.hosts.get(a.host)
        if hs is not None:
            out["host"] = {"host": hs.host, "status": hs.status, "last_seen": hs.last_seen}
            out["processes"] = hs.top_processes()
        return out

    # ------------------------------------------------------------ the store's part

    @staticmethod
    def _stored_alert(store: Any, alert_id: str, episode: str) -> dict[str, Any] | None:
        for ev in store.search(f"alert:{alert_id} kind:alert", limit=200):
            alert = (ev.get("data") or {}).get("alert")
            if isinstance(alert, dict) and (not episode or alert.get("episode") == episode):
                return alert
        return None

    @staticmethod
    def _opening(store: Any, alert_id: str, start: float) -> dict[str, Any]:
        """The event that opened the episode (it carries the processes at the start)."""
        for ev in store.search(f"alert:{alert_id} kind:alert until:{_at(start + 1)}",
                               limit=5):
            if (ev.get("data") or {}).get("from") == "inactive":
                return ev
        return {}

    @staticmethod
    def _logs(store: Any, host: str, start: float, now: float
              ) -> tuple[list[dict[str, Any]], bool]:
        """The lead-up (5 minutes before the start to 10 minutes after) and the latest lines;
        ``more``: lines between the two (or before the lead-up's oldest) were left out."""
        if not host:
            return [], False
        h = 'host:"' + host.replace('"', "") + '" kind:log'
        lead = store.search(f"{h} since:{_at(start - LOG_BEFORE_S)} until:{_at(start + LEAD_S)}",
                            limit=LOG_LIMIT, now=now)
        latest = store.search(f"{h} since:{_at(start + LEAD_S)}",
                              limit=LOG_LIMIT, now=now) if now > start + LEAD_S else []
        seen: set[Any] = set()
        lines = []
        for ev in sorted(lead + latest, key=lambda e: (e["ts"], e.get("seq", 0))):
            if ev["id"] not in seen:
                seen.add(ev["id"])
                ev.pop("data", None)  # a log line's text is its message
                lines.append(ev)
        return lines, len(lead) >= LOG_LIMIT or len(latest) >= LOG_LIMIT


def inhibitions(book: Any, a: Any, alert_id: str) -> list[dict[str, Any]]:
    """Every (inhibit rule, firing source alert) that mutes ``a`` now."""
    labels = a.match_labels(book.host_labels.get(a.host))
    out = []
    for rule, sid in book.sources().inhibitors(labels, alert_id):
        src = book.by_id.get(sid)
        out.append({"rule": rule, "source": sid, "source_rule": src.rule.name if src else "",
                    "source_host": src.host if src else ""})
    return out
