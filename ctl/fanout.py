"""monitor-ctl against several brokers at once (a sharded fleet, or both of a pair).

``ask(clients, op, params)`` sends a request where it belongs and merges the answers:
hosts, alerts and silences are listed once (an alert by its fingerprint id, which every
broker computes alike; the freshest copy wins), searches are merged newest first, an ack
goes to the first broker that holds the alert (its peer hears of it by replication), a
silence to every broker under one id (a silence of shard A's hosts made on shard B alone
would never match, and a pair's two copies are one silence), everything else to the first broker that
answers. A broker that does not answer is named on stderr and the others' answers stand.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from typing import Any

from core.client import BrokerTimeout, ControlClient, ControlError

Clients = dict[str, ControlClient]  # broker name -> client


def ask(clients: Clients, op: str, params: dict[str, Any]) -> Any:
    if op in ("ack", "unack"):  # the first holder: its peers hear of it by replication
        return _to_holders(clients, op, params, "alerts", "id", params["alert_id"], 1)
    if op == "unsilence":
        return _to_holders(clients, op, params, "silences", "id", params["silence_id"])
    if op == "silence":  # one id on every broker, so a pair's copies are one silence
        params = {**params, "id": params.get("id") or uuid.uuid4().hex[:12]}
    merge = MERGES.get(op)
    if merge is None and op != "silence":
        return _first(clients, op, params)
    answers = _all(clients, op, params)
    if not answers:
        raise BrokerTimeout("no broker answered: " + ", ".join(clients))
    if op == "silence":
        return next(iter(answers.values()))
    assert merge is not None
    return merge(answers, params)


def _all(clients: Clients, op: str, params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, client in clients.items():
        try:
            out[name] = client.request(op, **params)
        except BrokerTimeout as exc:
            print(f"monitor-ctl: {name}: {exc}", file=sys.stderr)
    return out


def _first(clients: Clients, op: str, params: dict[str, Any]) -> Any:
    last: Exception | None = None
    for name, client in clients.items():
        try:
            return client.request(op, **params)
        except BrokerTimeout as exc:
            print(f"monitor-ctl: {name}: {exc}", file=sys.stderr)
            last = exc
    raise last or BrokerTimeout("no broker given")


def _to_holders(clients: Clients, op: str, params: dict[str, Any], listing: str, key: str,
                ident: str, most: int = 0) -> Any:
    holders = [name for name, items in _all(clients, listing, {}).items()
               if any(item.get(key) == ident for item in items)]
    if not holders:
        raise ControlError(f"{op}: no broker of {', '.join(clients)} holds '{ident}'")
    result = None
    for name in holders[: most or None]:
        result = clients[name].request(op, **params)
    return result


def _freshest(answers: dict[str, Any], key: str, stamp: str) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for broker, items in answers.items():
        for item in items:
            have = best.get(item[key])
            if have is None or (item.get(stamp) or 0) > (have.get(stamp) or 0):
                best[item[key]] = {**item, "broker": broker}
    return list(best.values())


def _hosts(answers: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(_freshest(answers, "host", "last_seen"), key=lambda h: h["host"])


def _alerts(answers: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    order = {"firing": 0, "pending": 1, "resolved": 2}
    return sorted(_freshest(answers, "id", "updated_at"),
                  key=lambda a: (order.get(a.get("state", ""), 3), -(a.get("updated_at") or 0)))


def _silences(answers: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(_freshest(answers, "id", "created_at"), key=lambda s: s.get("starts_at", 0))


def _search(answers: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for broker, events in answers.items():
        for e in events:
            seen.setdefault(e["id"], {**e, "broker": broker})
    merged = sorted(seen.values(), key=lambda e: e.get("ts", 0), reverse=True)
    return merged[: int(params.get("limit", 50))]


def _status(answers: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    return {"brokers": answers}


MERGES: dict[str, Callable[[dict[str, Any], dict[str, Any]], Any]] = {
    "hosts": _hosts, "alerts": _alerts, "silences": _silences, "search": _search,
    "status": _status, "cluster": _status, "rules": lambda a, p: next(iter(a.values())),
}
