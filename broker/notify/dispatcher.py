"""The notifier: the event-bus handler that routes alerts to receivers through the outbox.

``handle(event)`` runs on the notifier's bus thread and never does network I/O: it updates
the aggregation groups and writes due notifications to the outbox. Delivery runs on one
thread per receiver (``start()``), or synchronously inside ``tick()`` when the notifier
was not started (tests on a fake clock).
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from broker.events import Event, make_event
from broker.notify import group_state, render
from broker.notify.base import Notification
from broker.notify.claims import Claims
from broker.notify.config import NotifyConfig
from broker.notify.delivery import Deliverer
from broker.notify.groups import Grouper
from broker.notify.outbox import Outbox, Row
from core.clock import SYSTEM, Clock

log = logging.getLogger(__name__)
TICK = 0.1  # seconds between ticks of the started notifier
KEEP_HISTORY = 7 * 86400.0  # finished outbox rows are forgotten after a week


class Notifier:
    def __init__(self, config: NotifyConfig, db_path: str | Path, clock: Clock = SYSTEM,
                 emit: Callable[[Event], None] | None = None, external_url: str = "",
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.clock = clock
        self.emit = emit
        self.outbox = Outbox(db_path)
        self.grouper = Grouper(config.routes, external_url)
        saved = self.outbox.load_state("groups")
        if saved:
            try:
                n = group_state.load(self.grouper, saved)
                log.info("notify: %d aggregation groups restored", n)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("notify: saved groups unreadable, starting without them: %s", exc)
        self.external_url = external_url
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.handled = 0
        self.queued = 0
        self.rng = rng
        self.deliverers = {
            name: Deliverer(rc, rc.make_channel(), self.outbox, clock, self._report, rng)
            for name, rc in config.receivers.items()}
        self.retired: dict[str, Deliverer] = {}  # removed receivers finishing their rows
        self.claims: Claims | None = None  # set_claims: a broker pair
        self._old_channels: list[Any] = []  # replaced channels, closed at stop
        self.dropped = 0  # notifications for a receiver that no longer exists
        now = clock.time()
        n = self.outbox.fail_unknown_receivers(set(self.deliverers), now)
        if n:
            log.warning("notify: %d pending notifications for removed receivers marked failed", n)
        self.outbox.prune(now - KEEP_HISTORY)

    # -- the bus handler ----------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        kind = event.get("kind", "")
        data = event.get("data") or {}
        now = self.clock.time()
        notes: list[Notification] = []
        with self._lock:
            if self._closed:  # stopped: its outbox is closed; nothing can be paged now
                log.warning("notify: stopped; event %s not notified", event.get("id"))
                return
            self.handled += 1
            if kind == "alert" and isinstance(data.get("alert"), dict):
                alert = dict(data["alert"])
                to = data.get("to") if data.get("change", "state") == "state" else None
                if to == "firing":
                    alert["state"] = "firing"
                elif to in ("resolved", "inactive") and alert.get("state") != "pending":
                    alert["state"] = "resolved"
                notes = self.grouper.update(alert, now)
            elif kind in ("ack", "unack", "silence", "unsilence"):
                notes = self._operator_change(event, kind, data, now)
            self._enqueue(notes, now, save=True)

    def tick(self, now: float | None = None) -> None:
        """Run group timers, repeats and escalations; deliver due rows if not started."""
        now = self.clock.time() if now is None else now
        with self._lock:
            notes = self.grouper.tick(now)
            self._enqueue(notes, now, save=bool(notes))
            workers = [*self.deliverers.values(), *self.retired.values()]
        if self._thread is None:
            for d in workers:
                d.run_due(now)
        else:
            for d in workers:
                d.wake()
        with self._lock:
            if self.retired:
                self._retire_idle()

    # -- live configuration ---------------------------------------------------------------------
    def reconfigure(self, config: NotifyConfig, external_url: str | None = None) -> None:
        """Swap receivers, routes and templates at once (``reload``); loses nothing.

        A kept receiver keeps its worker and outbox rows; a changed one gets the new
        settings for its next attempt (an attempt in flight finishes with the old ones). A
        removed receiver stops taking new notifications, but its worker stays until the
        rows already queued for it are delivered, fail or expire. Groups keep their alerts;
        groups of a removed receiver are dropped (nothing of theirs was queued yet).
        """
        with self._lock:
            old, new = self.deliverers, {}
            for name, rc in config.receivers.items():
                d = old.get(name)
                if d is None and name in self.retired:
                    d = self.retired.pop(name)
                    d.revive(self._thread is not None)
                if d is None:
                    d = Deliverer(rc, rc.make_channel(), self.outbox, self.clock,
                                  self._report, self.rng)
                    d.claims = self.claims
                    if self._thread is not None:
                        d.start()
                elif d.rc != rc:
                    self._old_channels.append(d.channel)
                    d.rc, d.channel = rc, rc.make_channel()
                new[name] = d
            for name, d in old.items():
                if name not in new:
                    self.retired[name] = d
            self.deliverers = new
            self.config = config
            if external_url is not None:
                self.external_url = self.grouper.external_url = external_url
            self.grouper.replace_routes(config.routes, set(new))
        for d in new.values():
            d.wake()

    def _retire_idle(self) -> None:
        """Stop the workers of removed receivers once nothing is left for them."""
        for name, d in list(self.retired.items()):
            if self.outbox.next_due(name) is None:
                d.signal_stop()
                if d.finished():
                    del self.retired[name]
                    self._old_channels.append(d.channel)

    def set_claims(self, claims: Claims | None) -> None:
        """Ask ``claims`` before every attempt (a broker pair: one page per notification)."""
        self.claims = claims
        for d in [*self.deliverers.values(), *self.retired.values()]:
            d.claims = claims

    # -- control operations -------------------------------------------------------------------
    def test_notify(self, receiver: str) -> str:
        """Queue a test message for ``receiver``; returns its notification id."""
        if receiver not in self.deliverers:
            known = ", ".join(sorted(self.deliverers)) or "none configured"
            raise ValueError(f"unknown receiver {receiver!r} (receivers: {known})")
        now = self.clock.time()
        alert = {"id": "test-" + uuid.uuid4().hex[:8], "rule": "TestNotification", "host": "",
                 "severity": "info", "state": "firing", "labels": {"test": "true"},
                 "summary": f"Test notification for receiver {receiver}",
                 "started_at": now, "updated_at": now}
        n = Notification(id=uuid.uuid4().hex, receiver=receiver, status="firing",
                         alerts=[alert], group_key=f'test:{{receiver="{receiver}"}}',
                         external_url=self.external_url, created_at=now, kind="test")
        with self._lock:
            self._enqueue([n], now)
        return n.id

    def recent(self, limit: int = 50, alert_id: str = "", episode: str = ""
               ) -> list[dict[str, Any]]:
        """Latest notifications, newest first, with their delivery status; ``alert_id``
        (and ``episode``) keeps those that carried that alert (in that episode)."""
        rows = self.outbox.recent(limit, alert_id, episode)
        for r in rows:
            rc = self.config.receivers.get(r["receiver"])
            r["type"] = rc.type if rc else ""
        return rows

    def stats(self) -> dict[str, Any]:
        counts = self.outbox.counts()
        return {
            "events_handled": self.handled, "notifications_queued": self.queued,
            "resent_after_crash": self.outbox.resent_after_crash,
            "dropped_unknown_receiver": self.dropped, "retired_receivers": sorted(self.retired),
            "groups": len(self.grouper.groups),
            "receivers": {name: {"type": d.rc.type, "sent": d.sent, "failures": d.failures,
                                 **{s: counts.get(name, {}).get(s, 0) for s in
                                    ("pending", "delivered", "failed", "expired",
                                     "misconfigured")}}
                          for name, d in self.deliverers.items()}}

    # -- threads ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        for d in self.deliverers.values():
            d.start()
        self._thread = threading.Thread(target=self._loop, name="notify/tick", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads and close the outbox. Pending rows stay for the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        workers = [*self.deliverers.values(), *self.retired.values()]
        for d in workers:
            d.signal_stop()  # all at once: a slow channel does not delay the others' stop
        ended = all([d.stop(timeout) for d in workers])
        if not ended:
            log.warning("notify: a delivery thread did not end; leaving the outbox open")
        elif not self._closed:
            with self._lock:  # a handle() under way finishes first; later ones see _closed
                self._closed = True
                for ch in [*(d.channel for d in workers), *self._old_channels]:
                    ch.close()
                self.outbox.close()

    close = stop

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self.tick()
            except Exception:
                log.exception("notify: tick failed")

    # -- internals ----------------------------------------------------------------------------
    def _operator_change(self, event: Event, kind: str, data: dict[str, Any],
                         now: float) -> list[Notification]:
        """ack/unack carry the alert dict; silence lists alert ids; unsilence the silence."""
        notes: list[Notification] = []
        items = [data.get("alert"), *(data.get("alerts") or [])]
        for a in items:
            if isinstance(a, dict):
                notes += self.grouper.update(a, now)
        raw = data.get("silence")
        sil: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if kind == "silence":
            for aid in (a for a in items if isinstance(a, str)):
                self.grouper.set_attr(aid, now, silenced=[str(sil.get("id", "silence"))])
        elif kind == "unsilence" and sil.get("id"):
            self.grouper.unsilence(str(sil["id"]))
        elif not isinstance(data.get("alert"), dict) and event.get("alert_id"):
            self.grouper.set_attr(event["alert_id"], now, acked=kind == "ack")
        return notes

    def _enqueue(self, notes: list[Notification], now: float, save: bool = False) -> None:
        """Record the intent (outbox rows) with the groups that made it, then wake senders."""
        rows = []
        for n in notes:
            rc = self.config.receivers.get(n.receiver)
            if rc is None:  # an escalate_to of a group made before a reload removed it
                self.dropped += 1
                log.warning("notify: receiver %s no longer exists; %s not queued",
                            n.receiver, render.subject(n))
                continue
            rows.append((n, render.subject(n), rc.expire))
        state = ("groups", group_state.dump(self.grouper)) if save else None
        if rows or state:
            self.queued += self.outbox.add_all(rows, now, state)
        if self._thread is not None:
            for n in notes:
                d = self.deliverers.get(n.receiver)
                if d is not None:
                    d.wake()

    def _report(self, status: str, row: Row, error: str, extra: dict[str, Any]) -> None:
        n = row.notification
        rc = self.config.receivers.get(row.receiver)
        now = self.clock.time()
        one = n.alerts[0] if len(n.alerts) == 1 else {}
        data = {"notification_id": n.id, "receiver": row.receiver,
                "type": rc.type if rc else "", "kind": n.kind, "status": status,
                "summary": render.subject(n), "alert_ids": [str(a.get("id")) for a in n.alerts],
                "simulated": n.simulated, **extra}
        fields: dict[str, Any] = {
            "ts": now, "host": str(one.get("host", "")), "rule": str(one.get("rule", "")),
            "alert_id": str(one.get("id", "")) if n.kind != "test" else ""}
        if status == "delivered":
            data["latency"] = round(now - row.created, 6)
            ev = make_event("notify.sent", f"{n.kind} notification to {row.receiver} delivered: "
                            f"{render.subject(n)}", severity="info", data=data, **fields)
            log.info("notify: %s delivered to %s", n.id[:8], row.receiver)
        elif status == "peer":
            ev = make_event("notify.sent", f"{n.kind} notification to {row.receiver} sent by a "
                            f"peer broker: {render.subject(n)}", severity="info",
                            data={**data, "by_peer": True}, **fields)
        else:
            data["error"] = error
            sev = "warning" if status == "retrying" else "critical"
            ev = make_event("notify.failed", f"notification to {row.receiver} {status}: {error}",
                            severity=sev, data=data, **fields)
            log.warning("notify: %s to %s %s: %s", n.id[:8], row.receiver, status, error)
        if self.emit is not None:
            try:
                self.emit(ev)
            except Exception:
                log.exception("notify: emitting %s failed", ev["kind"])
