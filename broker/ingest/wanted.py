"""Which hosts' metrics some client wants: the publish socket's subscriptions, tracked.

The publish socket is an XPUB: ZeroMQ hands the broker each subscription the first time any
client makes it and each unsubscription when the last client drops it (``\\x01`` or
``\\x00`` then the prefix). Metrics frames are most of the traffic, and a console following
a view of a big fleet wants a few dozen hosts' of them: the core loop republishes a metrics
frame only if some subscription matches its topic, and skips the splice and the two sends
for the others (the PUB would have dropped them anyway, after the work).
"""

from __future__ import annotations

from core.protocol import TOPIC_END

METRICS = b"m."


class Wanted:
    def __init__(self) -> None:
        self.subs: set[bytes] = set()
        self.wide = False  # a subscription to every metrics topic ("", "m", "m.")
        self.exact: set[bytes] = set()  # m.<host> + TOPIC_END
        self.partial: tuple[bytes, ...] = ()  # other m.<prefix> subscriptions

    def update(self, message: bytes) -> None:
        """One message read from the XPUB: ``\\x01`` subscribe or ``\\x00`` unsubscribe."""
        if not message or message[0] not in (0, 1):
            return  # not a subscription message: nothing a client may send us otherwise
        prefix = message[1:]
        if message[0] == 1:
            self.subs.add(prefix)
        else:
            self.subs.discard(prefix)
        self.wide = any(METRICS.startswith(s) for s in self.subs)
        ours = [s for s in self.subs if s.startswith(METRICS) and len(s) > len(METRICS)]
        self.exact = {s for s in ours if s.endswith(TOPIC_END)}
        self.partial = tuple(s for s in ours if not s.endswith(TOPIC_END))

    def any_for(self, topic: bytes) -> bool:
        """Does any subscription at all match ``topic`` (the digest's, say)?"""
        return any(topic.startswith(s) for s in self.subs)

    def wants(self, topic: bytes) -> bool:
        """Does any subscription match this metrics topic?"""
        if self.wide or topic in self.exact:
            return True
        # no generator made when there is no partial prefix (most frames: 0.3 us)
        return bool(self.partial) and any(topic.startswith(p) for p in self.partial)
