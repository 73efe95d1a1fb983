"""The replicated state: last-writer-wins entries keyed by what they are about.

An entry is ``(key, value, stamp)``; ``value`` None is a tombstone (an unack, a removed
silence). Merging keeps, per key, the entry with the greatest stamp, so every broker that
has seen the same entries holds the same state whatever order they came in. Keys:

- ``ack:<alert id>``       ``{"acked": bool, "author", "comment", "sticky", "expires",
                             "started_at"}`` (the episode it was made on)
- ``silence:<silence id>`` the silence's dict, or None once removed
- ``sim:<alert id>``       ``{"name", "host", "expires"}`` a simulated alert
- ``episode:<alert id>``   ``{"episode", "open", "started_at"}`` the alert's current
                             episode, adopted by a peer that opens the same alert
- ``claim:<notification id>`` ``{"holder", "until", "state": "claimed" | "done", "nid"}``
                             who sends a notification, under which id (claims.py)
- ``forget:<host>``        ``{"reason", "at", "last_seen"}`` an operator retired the host
                             when its latest sample was stamped ``last_seen``

The core thread owns a Replica: no locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.cluster.hlc import HLC, Stamp, parse_stamp

KINDS = ("ack", "silence", "sim", "forget", "claim", "episode")
MAX_KEY = 300
TOMBSTONE_TTL_MS = 7 * 86400 * 1000  # a removal is remembered this long, then forgotten


@dataclass(slots=True)
class Entry:
    key: str
    value: Any
    stamp: Stamp

    def wire(self) -> list[Any]:
        return [self.key, self.value, list(self.stamp)]


def parse_entries(obj: Any) -> list[Entry]:
    """Entries from a peer request; ValueError naming the first bad one."""
    if not isinstance(obj, list):
        raise ValueError("'entries' must be a list of [key, value, stamp]")
    out = []
    for i, item in enumerate(obj):
        if not isinstance(item, list | tuple) or len(item) != 3:
            raise ValueError(f"entry {i} must be [key, value, stamp]")
        key, value, stamp = item
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY or \
                key.split(":", 1)[0] not in KINDS or ":" not in key:
            raise ValueError(f"entry {i}: key {key!r:.60} is not one of "
                             f"{', '.join(k + ':<id>' for k in KINDS)}")
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"entry {i} ({key}): value must be a map or nil")
        try:
            out.append(Entry(key, value, parse_stamp(stamp)))
        except ValueError as exc:
            raise ValueError(f"entry {i} ({key}): {exc}") from None
    return out


class Replica:
    def __init__(self, hlc: HLC) -> None:
        self.hlc = hlc
        self.entries: dict[str, Entry] = {}

    def put(self, key: str, value: Any) -> Entry:
        """A local change: stamped now, so it wins over everything this broker has seen."""
        entry = Entry(key, value, self.hlc.now())
        self.entries[key] = entry
        return entry

    def merge(self, entries: list[Entry]) -> list[Entry]:
        """Keep each entry that is newer than ours; return the ones that won."""
        won = []
        for e in entries:
            self.hlc.observe(e.stamp)
            mine = self.entries.get(e.key)
            if mine is None or e.stamp > mine.stamp:
                self.entries[e.key] = e
                won.append(e)
        return won

    def digest(self) -> dict[str, list[Any]]:
        return {k: list(e.stamp) for k, e in self.entries.items()}

    def compare(self, theirs: dict[str, Any]) -> tuple[list[str], list[str]]:
        """(keys we should fetch, keys we should push) against a peer's digest."""
        fetch, push = [], []
        for key, stamp in theirs.items():
            mine = self.entries.get(key)
            their = parse_stamp(stamp)
            if mine is None or their > mine.stamp:
                fetch.append(key)
            elif mine.stamp > their:
                push.append(key)
        push.extend(k for k in self.entries if k not in theirs)
        return sorted(fetch), sorted(push)

    def pick(self, keys: list[str]) -> list[Entry]:
        return [self.entries[k] for k in keys if k in self.entries]

    def prune(self, now_ms: int) -> int:
        """Forget tombstones and claims older than TOMBSTONE_TTL_MS; returns how many went
        (a notification expires long before: its claim is of no use after)."""
        old = [k for k, e in self.entries.items()
               if (e.value is None or k.startswith(("claim:", "episode:")))
               and now_ms - e.stamp[0] > TOMBSTONE_TTL_MS]
        for k in old:
            del self.entries[k]
        return len(old)

    def dump(self) -> list[list[Any]]:
        return [e.wire() for e in self.entries.values()]

    def load(self, rows: Any) -> None:
        self.merge(parse_entries(rows or []))
