"""Claims: how a broker of a pair asks, before each attempt, whether it should send.

The notifier knows claims only through this Protocol; the cluster (broker/cluster/claims.py)
implements it over the replicated state. Without peers there is no claim book and every
row is sent, as before. A notification's id is the same on every broker that saw the same
alerts, so both brokers' rows for one page share one claim.
"""

from __future__ import annotations

from typing import Protocol

from broker.notify.base import Notification

SEND, WAIT, DONE = "send", "wait", "done"


class Claims(Protocol):
    def before_send(self, n: Notification, now: float) -> tuple[str, float]:
        """(SEND, 0): attempt it now; (WAIT, t): a peer holds it, look again at t;
        (DONE, 0): a peer has delivered it (or given up on it for good)."""
        ...

    def prepare(self, notes: list[Notification], now: float) -> None:
        """Several messages are due: look at (and claim) them all at once; the
        ``before_send`` of each then answers from that."""
        ...

    def send_as(self, n: Notification) -> Notification:
        """The message to send once SEND was given: ``n``, or ``n`` under the id the pair
        agreed on (a take-over sends under the first claimer's id)."""
        ...

    def hold(self, n: Notification, next_attempt_at: float) -> None:
        """The attempt failed and will be retried at ``next_attempt_at``: keep the claim."""
        ...

    def finished(self, n: Notification) -> None:
        """Delivered, or failed for good: peers must not send it."""
        ...
