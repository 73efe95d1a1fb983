"""Control requests (ROUTER side): snapshot, status, hosts, alerts, ack, silence, search...

Requests that read or change the in-memory state run on the core thread, where that state
lives. Requests that read the store (search, history, export, notifications) run on a
query thread so a slow disk never stalls ingest; their replies go back through
``BrokerCore.post``. Every reply carries the request id and either a result or an error a
person can read.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

from broker.api import agent_ops
from broker.api.args import RequestError
from broker.api.args import claimed as _claimed
from broker.api.args import int_arg as _int
from broker.api.args import opt_str as _opt_str
from broker.api.args import req_str as _req_str
from broker.api.audit import audit_event
from broker.api.cluster_ops import ClusterOps
from broker.api.incident_ops import IncidentOps
from broker.api.rewind_ops import RewindOps
from broker.api.store_ops import StoreOps
from broker.auth import KEYLESS
from broker.events import Event
from broker.ingest.loop import BrokerCore
from core import protocol
from core.config import ConfigError, parse_duration
from core.keydir import Identity
from core.ops import allows, audited
from core.protocol import ProtocolError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Any]


class ControlBackend(Protocol):
    """What control needs of the rest of the broker (broker/system.MonitoringSystem)."""

    @property
    def store(self) -> Any: ...  # broker/store/store.Store, or None without a store

    @property
    def notifier(self) -> Any: ...  # broker/notify.Notifier, or None without receivers

    def status(self) -> dict[str, Any]: ...

    def reload(self) -> dict[str, Any]: ...

    def sync(self) -> dict[str, Any]: ...

    def cluster_status(self) -> dict[str, Any]: ...

    @property
    def cluster(self) -> Any: ...  # broker/cluster/node.ClusterNode, or None without alerting

    @property
    def member(self) -> Any: ...  # broker/cluster/member.ClusterMember

    def persist_engine(self, baselines: bool = True, hosts: bool = True) -> None: ...

    def refresh_store_stats(self) -> None: ...

    def default_sim_host(self) -> str: ...

    def rules_summary(self) -> list[dict[str, Any]]: ...


class Control(StoreOps, ClusterOps, IncidentOps, RewindOps):
    """Dispatches every op of ``core.protocol.OPS`` to the method of the same name."""

    def __init__(self, core: BrokerCore, system: ControlBackend) -> None:
        self.core = core
        self.system = system
        self.handlers: dict[str, Handler] = {  # ops for data sources: broker/api/agent_ops.py
            "thresholds": functools.partial(agent_ops.thresholds, core),
            "push": functools.partial(agent_ops.push, core)}
        for name in protocol.OPS:
            fn = self.handlers.get(name) or getattr(self, name, None)
            if fn is None:
                raise TypeError(f"control op {name!r} has no handler")
            self.handlers[name] = fn
        self._jobs: queue.Queue[tuple[bytes, str, Handler, dict[str, Any],
                                      Identity, str] | None] = queue.Queue(1000)
        self.requests = 0
        self.errors = 0
        self.refused = 0

    # ------------------------------------------------------------ dispatch

    def handle(self, identity: bytes, payload: bytes, who: Identity = KEYLESS,
               address: str = "") -> None:
        """One request from ``who`` (the key that sent it, broker/auth.py) at ``address``."""
        self.requests += 1
        try:
            req_id, op, args = protocol.parse_request(payload)
        except ProtocolError as exc:
            self.errors += 1
            self.core.reply(identity, protocol.reply_error("", f"bad request: {exc}"))
            return
        spec = protocol.OPS.get(op)
        if spec is None:
            self.errors += 1
            known = ", ".join(sorted(protocol.OPS))
            self.core.reply(identity, protocol.reply_error(req_id, f"unknown op '{op}' "
                                                                   f"(known: {known})"))
            return
        if not allows(who.role, spec.role):
            self.errors += 1
            self.refused += 1
            error = (f"refused: key not authorised for role {spec.role} ('{op}' needs "
                     f"{spec.role}; key '{who.name}' has role {who.role})")
            if audited(spec):
                self._audit(who, address, op, {**args, "author": ""}, error)
            self.core.reply(identity, protocol.reply_error(req_id, error))
            return
        # The author of a change is the key's name, never what the client says it is.
        args = {**args, "author": who.author(_claimed(args), address)}
        fn = self.handlers[op]
        if spec.query:
            if op == "history":  # the live samples are read here, on the core thread
                args = self.history_live(args)
            try:
                self._jobs.put_nowait((identity, req_id, fn, args, who, address))
            except queue.Full:
                self.core.reply(identity, protocol.reply_error(req_id, "broker busy: too many "
                                                                       "queries queued, retry"))
            return
        payload, error = self._call(req_id, op, fn, args)
        if audited(spec):
            self._audit(who, address, op, args, error)
        self.core.reply(identity, payload)

    def _call(self, req_id: str, op: str, fn: Handler, args: dict[str, Any]
              ) -> tuple[bytes, str]:
        """The reply, and the error it carries ("" when the op succeeded)."""
        try:
            return protocol.reply_ok(req_id, fn(args)), ""
        except (RequestError, ConfigError, ValueError, KeyError, TypeError) as exc:
            self.errors += 1
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            error = f"{op}: {msg}"
        except Exception as exc:  # a bug must not kill the loop; the client still hears
            self.errors += 1
            log.exception("control op %s failed", op)
            error = f"{op}: internal error: {exc}"
        return protocol.reply_error(req_id, error), error

    def _audit(self, who: Identity, address: str, op: str, args: dict[str, Any],
               error: str) -> None:
        author = args.get("author") or who.author(_claimed(args), address)
        self.core.emit(audit_event(who, author, address, op, args, error,
                                   self.core.clock.time()))

    def run_queries(self, stop: threading.Event) -> None:
        """The query thread: runs offloaded requests, replies through the core thread."""
        while not stop.is_set():
            try:
                job = self._jobs.get(timeout=0.2)
            except queue.Empty:
                self.system.refresh_store_stats()
                continue
            if job is None:
                return
            identity, req_id, fn, args, who, address = job
            payload, error = self._call(req_id, fn.__name__, fn, args)
            spec = protocol.OPS[fn.__name__]
            if audited(spec):
                self._audit(who, address, spec.name, args, error)
            self.core.post(functools.partial(self.core.reply, identity, payload))

    # ------------------------------------------------------------ state ops (core thread)

    def snapshot(self, args: dict[str, Any]) -> dict[str, Any]:
        """The Clone pattern's state. ``brief_above``: past that many hosts, hosts come
        without metrics and history (a console that follows a view of the fleet), except
        those named in ``detail``."""
        core = self.core
        host = _opt_str(args, "host")
        brief = len(core.state.hosts) > _int(args, "brief_above", 2**31 - 1, 0, 2**31 - 1)
        detail = args.get("detail") or []
        if not isinstance(detail, list) or not all(isinstance(d, str) for d in detail):
            raise RequestError("'detail' must be a list of host names")
        hosts = core.state.snapshot_hosts(brief=brief, detail=set(detail))
        if host:
            hosts = [h for h in hosts if h["host"] == host]
        return {"pseq": core.pseq, "nseq": core.nseq, "brief": brief, "ts": core.clock.time(),
                "broker": self.system.status(), "hosts": hosts,
                "alerts": self._engine_alerts(), "events": list(core.recent)[-100:]}

    def status(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.system.status()

    def reload(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.system.reload()

    def hosts(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Every host (or ``host``) with its top processes; ``history`` adds the short
        process history."""
        host = _opt_str(args, "host")
        history = bool(args.get("history", False))
        hosts = sorted(self.core.state.hosts.values(), key=lambda h: h.host)
        if host:
            hosts = [h for h in hosts if h.host == host]
        return [{k: v for k, v in h.to_dict(history=False).items() if k != "history"}
                | h.processes_view(history) for h in hosts]

    def _engine(self) -> Any:
        if self.core.engine is None:
            raise RequestError("alerting is not enabled on this broker")
        return self.core.engine

    def _engine_alerts(self) -> list[dict[str, Any]]:
        return self.core.engine.alerts() if self.core.engine is not None else []

    def alerts(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return self._engine_alerts()

    def _emit_all(self, events: list[Event]) -> None:
        """Emit what an operator's change produced, and persist the engine's state."""
        for event in events:
            self.core.emit(event)
        self.system.persist_engine(baselines=False, hosts=False)  # those have their cadence

    def ack(self, args: dict[str, Any]) -> dict[str, Any]:
        alert_id = _req_str(args, "alert_id")
        expires = args.get("expires")
        events = self._engine().ack(alert_id, _opt_str(args, "author") or "anonymous",
                                    _opt_str(args, "comment"), bool(args.get("sticky", True)),
                                    parse_duration(expires, "expires") if expires else None,
                                    self.core.clock.time())
        self._emit_all(events)
        return {"alert_id": alert_id, "acked": True}

    def unack(self, args: dict[str, Any]) -> dict[str, Any]:
        alert_id = _req_str(args, "alert_id")
        self._emit_all(self._engine().unack(alert_id, _opt_str(args, "author") or "anonymous",
                                            self.core.clock.time()))
        return {"alert_id": alert_id, "acked": False}

    def silence(self, args: dict[str, Any]) -> dict[str, Any]:
        matchers = args.get("matchers")
        if not isinstance(matchers, list) or not matchers or \
                not all(isinstance(m, str) for m in matchers):
            raise RequestError("'matchers' must be a non-empty list like ['host=web-1']")
        duration = parse_duration(args.get("duration", "2h"), "duration")
        if duration <= 0:
            raise RequestError("duration must be positive")
        silence, events = self._engine().silence(matchers, duration,
                                                 _opt_str(args, "author") or "anonymous",
                                                 _opt_str(args, "comment"),
                                                 self.core.clock.time(),
                                                 silence_id=_opt_str(args, "id"))
        self._emit_all(events)
        return silence

    def silences(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return self._engine().silences()

    def unsilence(self, args: dict[str, Any]) -> dict[str, Any]:
        sid = _req_str(args, "silence_id")
        self._emit_all(self._engine().unsilence(sid, _opt_str(args, "author") or "anonymous",
                                                self.core.clock.time()))
        return {"silence_id": sid, "removed": True}

    def forget(self, args: dict[str, Any]) -> dict[str, Any]:
        host = _req_str(args, "host")
        author = _opt_str(args, "author") or "anonymous"
        self.core.forget(host, f"by {author}")
        self.system.persist_engine()
        return {"host": host, "forgotten": True}

    def simulate(self, args: dict[str, Any]) -> dict[str, Any]:
        name = _req_str(args, "name")
        host = _opt_str(args, "host") or self.system.default_sim_host()
        if (err := protocol.host_name_error(host)) is not None:
            raise RequestError(f"simulate: {err}")
        events = self._engine().simulate(name, host, self.core.clock.time())
        self._emit_all(events)
        ids = sorted({e["alert_id"] for e in events if e["alert_id"]})
        return {"scenario": name, "host": host, "alert_ids": ids}

    def rules(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return self.system.rules_summary()
