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

Anti-entropy compares a summary first: every key falls in one of ``BUCKETS`` buckets (by a
hash of the key), and each bucket carries the XOR of a 64-bit hash of its entries' keys and
stamps, kept up to date on every change. Two brokers that agree exchange 256 numbers every
few seconds, however many entries they hold; only the buckets that differ are then compared
key by key (the ``bucket`` digest), so the exchange grows with the difference, not with the
week of claims both hold (Alertmanager's push-pull sends its whole state instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from broker.cluster.hlc import HLC, Stamp, parse_stamp

KINDS = ("ack", "silence", "sim", "forget", "claim", "episode")
MAX_KEY = 300
TOMBSTONE_TTL_MS = 7 * 86400 * 1000  # a removal is remembered this long, then forgotten
BUCKETS = 256


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


def bucket_of(key: str) -> int:
    return blake2b(key.encode(), digest_size=1).digest()[0]


def _entry_hash(key: str, stamp: Stamp) -> int:
    text = f"{key}\x00{stamp[0]}\x00{stamp[1]}\x00{stamp[2]}".encode()
    return int.from_bytes(blake2b(text, digest_size=8).digest(), "big")


class Entries(dict[str, Entry]):
    """The replica's entries, each bucket's XOR hash kept in step with every change."""

    def __init__(self) -> None:
        super().__init__()
        self.summary = [0] * BUCKETS
        self.keys_in: list[set[str]] = [set() for _ in range(BUCKETS)]

    def _out(self, key: str) -> None:
        old = super().get(key)
        if old is not None:
            b = bucket_of(key)
            self.summary[b] ^= _entry_hash(key, old.stamp)
            self.keys_in[b].discard(key)

    def __setitem__(self, key: str, entry: Entry) -> None:
        self._out(key)
        super().__setitem__(key, entry)
        b = bucket_of(key)
        self.summary[b] ^= _entry_hash(key, entry.stamp)
        self.keys_in[b].add(key)

    def __delitem__(self, key: str) -> None:
        self._out(key)
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        self._out(key)
        return super().pop(key, *default)

    def clear(self) -> None:
        super().clear()
        self.summary = [0] * BUCKETS
        self.keys_in = [set() for _ in range(BUCKETS)]

    def update(self, *args: Any, **kw: Any) -> None:
        for key, entry in dict(*args, **kw).items():
            self[key] = entry

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple[str, Entry]:
        key = next(reversed(self))
        return key, self.pop(key)


class Replica:
    def __init__(self, hlc: HLC) -> None:
        self.hlc = hlc
        self.entries = Entries()

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

    def digest(self, buckets: list[int] | None = None) -> dict[str, list[Any]]:
        """Every key and its stamp, or those of the given buckets only."""
        if buckets is None:
            return {k: list(e.stamp) for k, e in self.entries.items()}
        return {k: list(self.entries[k].stamp)
                for b in buckets for k in self.entries.keys_in[b]}

    def summary(self) -> list[int]:
        return list(self.entries.summary)

    def differing(self, theirs: Any) -> list[int]:
        """The buckets whose hash differs from a peer's summary; ValueError if malformed."""
        if not isinstance(theirs, list) or len(theirs) != BUCKETS or \
                not all(isinstance(h, int) and not isinstance(h, bool) for h in theirs):
            raise ValueError(f"'summary' must be a list of {BUCKETS} integers")
        return [b for b, (m, t) in enumerate(zip(self.entries.summary, theirs, strict=True))
                if m != t]

    def compare(self, theirs: dict[str, Any],
                buckets: list[int] | None = None) -> tuple[list[str], list[str]]:
        """(keys we should fetch, keys we should push) against a peer's digest: its whole
        digest, or the digest of ``buckets`` only (then only our keys there are pushed)."""
        fetch, push = [], []
        for key, stamp in theirs.items():
            mine = self.entries.get(key)
            their = parse_stamp(stamp)
            if mine is None or their > mine.stamp:
                fetch.append(key)
            elif mine.stamp > their:
                push.append(key)
        ours: Iterable[str] = self.entries if buckets is None else \
            (k for b in buckets for k in self.entries.keys_in[b])
        push.extend(k for k in ours if k not in theirs)
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
