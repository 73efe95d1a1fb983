"""The aggregation groups as JSON, saved in the outbox with the rows they produced.

A restart used to start with no groups: an alert that resolved after it had no group, and
"nothing was notified, nothing to resolve" dropped its RESOLVED (0 of 10 arrived). The
dispatcher now saves ``dump(grouper)`` in the same transaction as the outbox rows each
change produced, and a new notifier ``load``s it: what was notified, when, what was
escalated and the message counters behind the deterministic ids all survive. A group whose
route is gone from the config is dropped.
"""

from __future__ import annotations

import json
from typing import Any

from broker.notify.groups import Group, Grouper

VERSION = 1


def dump(grouper: Grouper) -> str:
    groups = [{"key": g.key, "route": g.route.name, "receiver": g.receiver, "labels": g.labels,
               "next_flush": g.next_flush, "alerts": g.alerts, "notified": sorted(g.notified),
               "first_notified": g.first_notified, "escalated": sorted(g.escalated),
               "last_sent": g.last_sent, "flushed": g.flushed, "counts": g.counts}
              for g in grouper.groups.values()]
    return json.dumps({"version": VERSION, "groups": groups,
                       "escalations": sorted(grouper.escalations)},
                      separators=(",", ":"), default=str)


def load(grouper: Grouper, text: str) -> int:
    """Restore the groups of ``dump``; returns how many came back."""
    data: dict[str, Any] = json.loads(text)
    if data.get("version") != VERSION:
        return 0
    routes = {r.name: r for r in grouper.routes}
    n = 0
    for d in data.get("groups", []):
        route = routes.get(d["route"])
        if route is None or d["receiver"] not in route.receivers:
            continue
        g = Group(d["key"], route, d["receiver"], dict(d["labels"]), float(d["next_flush"]),
                  alerts=dict(d["alerts"]), notified=set(d["notified"]),
                  first_notified=dict(d["first_notified"]), escalated=set(d["escalated"]),
                  last_sent=d["last_sent"], flushed=bool(d["flushed"]),
                  counts=dict(d["counts"]))
        grouper.groups[(g.key, g.receiver)] = g
        n += 1
    grouper.escalations = set(data.get("escalations", []))
    return n
