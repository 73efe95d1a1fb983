"""Between the engine and the replica: local changes become entries, peers' entries become
engine changes.

``entry_for(event)`` reads an operator's change off the event it produced (ack, unack,
silence, unsilence, simulate) and says which entry records it; changes the engine makes by
itself on every broker alike (an ack cleared on resolve, a silence expiring) are not
replicated, nor are changes applied from a peer (their events carry ``data.via``).

``apply(engine, entry, now, via)`` makes the engine match an entry and returns the events
that produced, tagged with ``via``; it returns None when the entry cannot apply yet (the
alert it acks has not fired here yet), so the node retries it on the next tick.

``keep_ours(mine, theirs)`` names the two cases where last-writer-wins is not what the pair
needs: a ``done`` claim must not give way to a later claim of the same message (the peer
had not heard it was sent), and an incident's earliest episode must not give way to a
later one (a broker restarted at the onset missed the first sample and opened its own).
The node then re-asserts ours with a fresh stamp, so it wins everywhere.
"""

from __future__ import annotations

from typing import Any

from broker.alerting.alert import FIRING
from broker.alerting.engine import AlertEngine
from broker.cluster.replica import Entry
from broker.events import Event

EPISODE_SLACK_S = 30.0  # two brokers start the same episode within this of each other


OPENS = (("inactive", "pending"), ("inactive", "firing"), ("resolved", "pending"),
         ("resolved", "firing"))
CLOSES = ("resolved", "inactive")


def entry_for(event: Event) -> tuple[str, dict[str, Any] | None] | None:
    kind, data = event["kind"], event["data"]
    if data.get("via"):
        return None
    if kind == "alert":
        return _episode(data)
    if kind == "ack":
        a = data["alert"]
        return f"ack:{a['id']}", {"acked": True, **data["ack"], "started_at": a["started_at"]}
    if kind == "unack" and not data.get("reason"):
        a = data["alert"]
        return f"ack:{a['id']}", {"acked": False, "author": data.get("author", ""),
                                  "started_at": a["started_at"]}
    if kind == "silence":
        return f"silence:{data['silence']['id']}", dict(data["silence"])
    if kind == "unsilence" and data.get("reason") != "expired":
        return f"silence:{data['silence']['id']}", None
    if kind == "host.forgotten" and str(data.get("reason", "")).startswith("by "):
        # an operator's forget (not host_expire, which every broker runs alike)
        return f"forget:{event['host']}", {"reason": data["reason"], "at": event["ts"],
                                           "last_seen": data.get("last_seen")}
    if kind == "simulate" and event["alert_id"]:
        return f"sim:{event['alert_id']}", {"name": data["scenario"], "host": event["host"],
                                            "expires": data["expires"]}
    return None


def _episode(data: dict[str, Any]) -> tuple[str, dict[str, Any] | None] | None:
    """An alert's episode opening or closing: a peer that opens the same alert while it is
    open here adopts its episode id (one episode, one notification id, per pair)."""
    a = data.get("alert") or {}
    if data.get("change", "state") != "state" or a.get("simulated") or not a.get("episode"):
        return None
    step = (data.get("from"), data.get("to"))
    if step in OPENS:
        return f"episode:{a['id']}", {"episode": a["episode"], "open": True,
                                      "started_at": a.get("started_at", 0.0)}
    if step[1] in CLOSES and step[0] in ("pending", "firing"):
        return f"episode:{a['id']}", {"episode": a["episode"], "open": False,
                                      "started_at": a.get("started_at", 0.0)}
    return None


def keep_ours(mine: Entry | None, theirs: Entry) -> bool:
    """True when ``theirs`` (newer, from a peer) replaced ``mine`` but ours must stand."""
    if mine is None or mine.value is None or theirs.value is None:
        return False
    kind = mine.key.split(":", 1)[0]
    if kind == "claim":
        return mine.value.get("state") == "done" and theirs.value.get("state") != "done"
    if kind == "episode":
        return bool(mine.value.get("open") and theirs.value.get("open")) and \
            _earlier(mine.value, theirs.value)
    return False


def _earlier(mine: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Ours is the same incident (started within the slack) and started first (ties: the
    smaller episode id, so both brokers pick the same one)."""
    t0, t1 = float(mine.get("started_at", 0.0)), float(theirs.get("started_at", 0.0))
    if mine.get("episode") == theirs.get("episode") or abs(t0 - t1) > EPISODE_SLACK_S:
        return False
    return (t0, str(mine.get("episode"))) < (t1, str(theirs.get("episode")))


def shared_episode(entry: Entry | None) -> str | None:
    if entry is None or not entry.value or not entry.value.get("open"):
        return None
    return str(entry.value.get("episode") or "") or None


def apply(engine: AlertEngine, entry: Entry, now: float, via: str) -> list[Event] | None:
    kind, _, ident = entry.key.partition(":")
    value = entry.value
    events: list[Event] | None
    if kind == "silence":
        events = _silence(engine, ident, value, now)
    elif kind == "ack":
        events = _ack(engine, ident, value, now)
    elif kind == "sim":
        events = _sim(engine, ident, value, now)
    elif kind == "episode":
        events = _adopt_episode(engine, ident, value)
    else:  # claims touch no alert: read before each attempt (broker/cluster/claims.py)
        events = []
    for e in events or ():
        e["data"]["via"] = via
    return events


def _silence(engine: AlertEngine, ident: str, value: Any, now: float) -> list[Event]:
    have = ident in engine.book.silences.by_id
    if value is None:
        return engine.unsilence(ident, "", now) if have else []
    if have or float(value.get("ends_at", 0)) <= now:
        return []
    return engine.adopt_silence(value, now)


def _ack(engine: AlertEngine, ident: str, value: Any, now: float) -> list[Event] | None:
    a = engine.book.by_id.get(ident)
    if a is None or not a.active:
        return None  # not firing here (yet): the node retries on its tick
    if abs(a.started_at - float(value.get("started_at", 0.0))) > EPISODE_SLACK_S:
        return []  # an ack of an earlier episode
    if value.get("acked"):
        if a.ack is not None and a.ack.get("ts") == value.get("ts"):
            return []
        expires = value.get("expires")
        left = None if expires is None else float(expires) - now
        if left is not None and left <= 0:
            return []
        return engine.ack(ident, str(value.get("author", "")), str(value.get("comment", "")),
                          bool(value.get("sticky", False)), left, now)
    return engine.unack(ident, str(value.get("author", "")), now) if a.ack else []


def _adopt_episode(engine: AlertEngine, ident: str, value: Any) -> list[Event]:
    """The pair settled on an earlier episode of an incident open here: take its id, so
    this broker's later messages about it (the RESOLVED) carry the pair's ids."""
    a = engine.book.by_id.get(ident)
    if value and value.get("open") and a is not None and a.active and a.episode and \
            a.episode != value.get("episode") and \
            abs(a.started_at - float(value.get("started_at", 0.0))) <= EPISODE_SLACK_S and \
            float(value.get("started_at", 0.0)) <= a.started_at:
        a.episode = str(value["episode"])
    return []


def _sim(engine: AlertEngine, ident: str, value: Any, now: float) -> list[Event]:
    if value is None or float(value.get("expires", 0)) <= now:
        return []
    a = engine.book.by_id.get(ident)
    if a is not None and a.state == FIRING:
        return []
    return engine.simulate(str(value["name"]), str(value["host"]), now)
