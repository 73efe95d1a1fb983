"""Topics of the publish stream, and republishing a packed frame with ``pseq`` added.

Part of the wire contract (``core.protocol`` re-exports every name here). A topic is
``<prefix>.<name>`` followed by TOPIC_END: ``m.<host>`` metrics, ``l.<host>`` log lines,
``h.<host>`` host status and hello, ``a.<severity>`` alert changes, ``e.<kind>`` other
events, ``d.fleet`` the fleet digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

_TOPIC_PREFIX = {"metrics": "m", "log": "l", "hello": "h", "goodbye": "h", "host": "h",
                 "alert": "a", "event": "e", "digest": "d"}
# A topic is ``<prefix>.<name>`` then TOPIC_END, a byte no name can hold (names are
# printable), so a subscription to one host's topic never matches a longer name:
# ``m.db-1\0`` does not match ``m.db-10\0``. Subscribe to ``m.`` for every host.
TOPIC_END = b"\0"
# A client that follows a view of the fleet subscribes to these, then to host_topics(host)
# of each host it shows: alerts, events, log lines and the digest of the whole fleet.
FLEET_TOPICS = (b"a.", b"e.", b"l.", b"d.")
PER_HOST = (b"m.", b"h.")  # metrics, and host status/hello frames: per host in a view


def topic(prefix: str, name: str) -> bytes:
    """``<prefix>.<name>`` and TOPIC_END: what to subscribe to for exactly that name."""
    return f"{prefix}.{name}".encode() + TOPIC_END


def host_topic(host: str) -> bytes:
    """The subscription for one host's metrics frames (``m.<host>`` and TOPIC_END)."""
    return topic("m", host)


def host_topics(host: str) -> tuple[bytes, bytes]:
    """A host's metrics and host status/hello topics: what a view subscribes to per host."""
    return topic("m", host), topic("h", host)


def topic_for(frame: Mapping[str, Any]) -> bytes:
    """The SUB-filterable topic of a frame: ``m.<host>``, ``l.<host>``, ``a.<severity>``...
    always ended by TOPIC_END."""
    kind = frame["kind"]
    prefix = _TOPIC_PREFIX[kind]
    if kind == "alert":
        suffix = frame.get("severity") or "info"
    elif kind == "event":
        event_kind = frame.get("event", {}).get("kind", "event")
        if event_kind == "log":  # log lines stay filterable by host: l.<host>
            return topic("l", frame.get("host", ""))
        suffix = event_kind
    elif kind == "digest":
        suffix = "fleet"
    else:
        suffix = frame.get("host", "")
    return topic(prefix, suffix)


_PSEQ_KEY = msgpack.packb("pseq")


def with_pseq(payload: bytes, pseq: int) -> bytes:
    """A packed map with ``pseq`` appended, without unpacking it: the map's count is bumped
    in its header and the packed key and value are added at the end (republishing an agent's
    frame this way costs a copy, not a re-encode). ValueError if ``payload`` is no map."""
    head, tail = payload[0], msgpack.packb(pseq)
    if 0x80 <= head < 0x8F:
        return b"".join((bytes((head + 1,)), memoryview(payload)[1:], _PSEQ_KEY, tail))
    if head == 0x8F:  # 15 entries: the 16th needs a map16 header
        return b"".join((b"\xde\x00\x10", memoryview(payload)[1:], _PSEQ_KEY, tail))
    if head == 0xDE and (n := int.from_bytes(payload[1:3], "big")) < 0xFFFF:
        return b"".join((b"\xde", (n + 1).to_bytes(2, "big"), memoryview(payload)[3:],
                         _PSEQ_KEY, tail))
    raise ValueError("payload is not a msgpack map with room for one more entry")
