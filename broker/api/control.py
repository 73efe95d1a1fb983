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
from broker.api.audit import audit_event
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


class RequestError(ValueError):
    """A request the broker understood but cannot carry out; the message says why."""


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

    def persist_engine(self, baselines: bool = True) -> None: ...

    def refresh_store_stats(self) -> None: ...

    def default_sim_host(self) -> str: ...

    def rules_summary(self) -> list[dict[str, Any]]: ...


class Control:
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

    def sync(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.system.sync()

    # ------------------------------------------------------------ cluster (core thread)

    def cluster(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.system.cluster_status()

    def _node(self, args: dict[str, Any] | None = None) -> Any:
        if self.system.cluster is None:
            raise RequestError("this broker does not replicate (alerting is off)")
        if args and args.get("endpoint"):
            self.system.member.pair_back(args["endpoint"])
        return self.system.cluster

    def peer_push(self, args: dict[str, Any]) -> dict[str, Any]:
        from broker.cluster.replica import parse_entries

        node = self._node(args)
        sender = _req_str(args, "node")
        entries = parse_entries(args.get("entries"))
        won = node.merge(entries, sender)
        if won:
            self.system.persist_engine()
        return {"node": node.name, "won": won,
                "newer": [e.wire() for e in node.newer_than(entries)]}

    def peer_digest(self, args: dict[str, Any]) -> dict[str, Any]:
        node = self._node(args)
        return {"node": node.name, "digest": node.replica.digest()}

    def peer_fetch(self, args: dict[str, Any]) -> dict[str, Any]:
        node = self._node()
        keys = args.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise RequestError("'keys' must be a list of strings")
        return {"node": node.name, "entries": [e.wire() for e in node.replica.pick(keys)]}

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
        self.system.persist_engine(baselines=False)  # they follow on their own cadence

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
        events = self._engine().simulate(name, host, self.core.clock.time())
        self._emit_all(events)
        ids = sorted({e["alert_id"] for e in events if e["alert_id"]})
        return {"scenario": name, "host": host, "alert_ids": ids}

    def rules(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return self.system.rules_summary()

    # ------------------------------------------------------------ store ops (query thread)

    def _store(self) -> Any:
        if self.system.store is None:
            raise RequestError("the event store is not enabled on this broker")
        return self.system.store

    def search(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        query = args.get("query", "")
        if not isinstance(query, str):
            raise RequestError("'query' must be a string")
        limit = _int(args, "limit", 50, 1, 10_000)
        before_ts, before_seq = args.get("before_ts"), args.get("before_seq")
        if before_ts is not None and (not isinstance(before_ts, int | float)
                                      or isinstance(before_ts, bool)):
            raise RequestError("'before_ts' must be a number (unix seconds)")
        if before_seq is not None and (not isinstance(before_seq, int)
                                       or isinstance(before_seq, bool)):
            raise RequestError("'before_seq' must be an integer (an event's seq)")
        if before_seq is not None:  # exact paging: seq is unique, ts is not
            return self._store().search(query, limit=limit, before_seq=before_seq)
        return self._store().search(query, limit=limit, before_ts=before_ts)

    def history(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        now = self.core.clock.time()
        since = args.get("since", now - 3600)
        return self._store().history(_req_str(args, "host"), _req_str(args, "metric"),
                                     since, args.get("until", now), args.get("step", "1m"))

    def export(self, args: dict[str, Any]) -> Any:
        import io

        from broker.store.search import parse_time

        now = self.core.clock.time()
        when: dict[str, float | None] = {}
        for key in ("since", "until"):
            val = args.get(key)
            if val is None or val == "":
                when[key] = None
            elif isinstance(val, int | float) and not isinstance(val, bool):
                when[key] = float(val)
            elif isinstance(val, str):
                when[key] = parse_time(val, now, f"--{key} {val}")
            else:
                raise RequestError(f"'{key}' must be a time like 1h, 2026-11-26T10:00 or "
                                   "unix seconds")
        fmt = args.get("format", "jsonl")
        if fmt not in ("jsonl", "csv"):
            raise RequestError(f"format {fmt!r}: use jsonl or csv")
        query = _opt_str(args, "query")
        out = io.StringIO()
        if "after" not in args:  # one reply with everything (small exports, old clients)
            self._store().export(when["since"], when["until"], fmt, out, query=query)
            return out.getvalue()
        after = _int(args, "after", 0, 0, 2**62)
        store = self._store()
        n = store.export(when["since"], when["until"], fmt, out, query=query, after=after,
                         limit=_int(args, "limit", EXPORT_PAGE, 1, 100_000),
                         header=after == 0)
        return {"text": out.getvalue(), "count": n, "next": store.last_cursor}

    def notifications(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        if self.system.notifier is None:
            return []
        return self.system.notifier.recent(_int(args, "limit", 50, 1, 1000))

    def test_notify(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.system.notifier is None:
            raise RequestError("no receivers are configured on this broker")
        receiver = _req_str(args, "receiver")
        return {"receiver": receiver, "id": self.system.notifier.test_notify(receiver)}


EXPORT_PAGE = 5000  # events per export page: a few MB, far under the reply cap


def _claimed(args: dict[str, Any]) -> str:
    """Who a keyless client says it is (only ever shown as ``local:<name>``)."""
    val = args.get("author", "")
    return val if isinstance(val, str) else ""


def _req_str(args: dict[str, Any], key: str) -> str:
    val = args.get(key)
    if not isinstance(val, str) or not val:
        raise RequestError(f"missing or empty '{key}'")
    return val


def _opt_str(args: dict[str, Any], key: str) -> str:
    val = args.get(key, "")
    if val is None:
        return ""
    if not isinstance(val, str):
        raise RequestError(f"'{key}' must be a string")
    return val


def _int(args: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    val = args.get(key, default)
    if not isinstance(val, int) or isinstance(val, bool) or not lo <= val <= hi:
        raise RequestError(f"'{key}' must be an integer from {lo} to {hi}")
    return val
