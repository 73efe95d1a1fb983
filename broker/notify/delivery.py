"""One delivery worker per receiver: takes due rows from the outbox and sends them.

A receiver that hangs or keeps failing only delays its own rows: every receiver has its
own worker (thread), its own rate limit and its own back-off schedule. Back-off is
exponential with +-20 % jitter, from ``retry_initial`` up to ``retry_max``, until the row's
expiry. Errors are scrubbed of every secret before they are stored or reported.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from broker.notify.base import Channel, PermanentError, TemporaryError
from broker.notify.claims import DONE, SEND, Claims
from broker.notify.config import ReceiverConfig
from broker.notify.outbox import Outbox, Row
from core.backoff import Backoff
from core.clock import Clock

log = logging.getLogger(__name__)
Report = Callable[[str, Row, str, dict[str, Any]], None]  # (status, row, error, extra)
POLL = 0.1  # real seconds between looks at the outbox when nothing wakes the worker


def redact(text: str, secrets: list[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        if s and len(s) >= 3:
            text = text.replace(s, "***")
    return text


class Deliverer:
    def __init__(self, rc: ReceiverConfig, channel: Channel, outbox: Outbox, clock: Clock,
                 report: Report, rng: random.Random | None = None) -> None:
        self.rc = rc
        self.channel = channel
        self.outbox = outbox
        self.clock = clock
        self.report = report
        self.rng = rng or random.Random()
        self._sent: deque[float] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()  # one delivery pass at a time per receiver
        self.sent = 0
        self.failures = 0
        self.claims: Claims | None = None  # set when the broker has peers

    # -- scheduling ---------------------------------------------------------------------------
    def backoff(self, attempts: int) -> float:
        return Backoff(self.rc.retry_initial, max(self.rc.retry_initial, self.rc.retry_max),
                       jitter=0.2, rng=self.rng).delay(attempts)

    def _rate_wait(self, now: float) -> float | None:
        """None if a send is allowed now, else the time when the next one is."""
        if not self.rc.rate_limit:
            return None
        count, per = self.rc.rate_limit
        while self._sent and self._sent[0] <= now - per:
            self._sent.popleft()
        return self._sent[0] + per if len(self._sent) >= count else None

    def run_due(self, now: float | None = None) -> float | None:
        """Send every due row (within the rate limit). Returns when to look again."""
        with self._busy:
            while not self._stop.is_set():
                t = self.clock.time() if now is None else now
                rows = self.outbox.due(self.rc.name, t, limit=20)
                if not rows:
                    return self.outbox.next_due(self.rc.name)
                if self.claims is not None:  # a pair: one round trip for the lot
                    self.claims.prepare([r.notification for r in rows], t)
                for row in rows:
                    if self._stop.is_set():
                        return None
                    wait = self._rate_wait(t)
                    if wait is not None:
                        return wait
                    self._attempt(row, t)
            return None

    def _attempt(self, row: Row, now: float) -> None:
        rid, secrets = row.id, self.rc.secret_values()
        if now >= row.expires_at:
            self.outbox.mark_final(rid, "expired", now, "expired before delivery", attempted=False)
            self.report("expired", row, "expired before delivery", {})
            return
        note = row.notification
        if self.claims is not None:
            if not self._claimed(row, now):
                return
            note = self.claims.send_as(note)
        if self.rc.rate_limit:
            self._sent.append(now)
        self.outbox.mark_sending(rid, now)  # a crash from here to the mark: resent, counted
        try:
            self.channel.send(note)
        except PermanentError as exc:
            err = redact(str(exc), secrets)
            self.failures += 1
            self.outbox.mark_final(rid, "misconfigured", self.clock.time(), err)
            self._finished(row)
            self.report("misconfigured", row, err, {"attempt": row.attempts + 1})
        except TemporaryError as exc:
            err = redact(str(exc), secrets)
            self.failures += 1
            t = self.clock.time()
            next_at = max(t, now) + self.backoff(row.attempts + 1)
            if next_at >= row.expires_at:
                self.outbox.mark_final(rid, "expired", t, err)
                self.report("expired", row, err, {"attempt": row.attempts + 1})
            else:
                self.outbox.mark_retry(rid, t, next_at, err)
                if self.claims is not None:
                    self.claims.hold(row.notification, next_at)
                self.report("retrying", row, err, {"attempt": row.attempts + 1,
                                                   "next_attempt_at": next_at})
        except Exception as exc:  # a bug in a channel must not kill the worker
            err = redact(f"{type(exc).__name__}: {exc}", secrets)
            log.exception("notify: receiver %s crashed on %s", self.rc.name, rid)
            self.failures += 1
            self.outbox.mark_final(rid, "failed", self.clock.time(), err)
            self.report("failed", row, err, {"attempt": row.attempts + 1})
        else:
            self.sent += 1
            self.outbox.mark_delivered(rid, self.clock.time())
            self._finished(row)
            self.report("delivered", row, "", {"attempt": row.attempts + 1})

    def _claimed(self, row: Row, now: float) -> bool:
        """Ask the claim book (a broker pair); False when a peer holds or has sent it."""
        assert self.claims is not None
        verdict, until = self.claims.before_send(row.notification, now)
        if verdict == SEND:
            return True
        if verdict == DONE:
            self.outbox.mark_final(row.id, "peer", self.clock.time(),
                                   "delivered by a peer broker", attempted=False)
            self.report("peer", row, "", {})
        else:
            self.outbox.defer(row.id, self.clock.time(), until, "a peer broker holds the claim")
        return False

    def _finished(self, row: Row) -> None:
        if self.claims is not None:
            self.claims.finished(row.notification)

    # -- thread -------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"notify/{self.rc.name}",
                                        daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def finished(self) -> bool:
        """True when stop was signalled and the thread (if any) has ended."""
        return self._stop.is_set() and (self._thread is None or not self._thread.is_alive())

    def revive(self, running: bool) -> None:
        """Undo a signalled stop (a removed receiver added back before it finished)."""
        self._stop.clear()
        if running and (self._thread is None or not self._thread.is_alive()):
            self.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the thread; an attempt in flight may take up to the channel timeout.
        True if the thread has ended."""
        self.signal_stop()
        if self._thread:
            self._thread.join(max(timeout, self.rc.timeout + 1.0))
            if self._thread.is_alive():
                return False
            self._thread = None
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                nxt = self.run_due()
            except Exception:
                log.exception("notify: delivery loop of %s failed; retrying", self.rc.name)
                nxt = None
            wait = POLL if nxt is None else min(POLL, max(0.001, nxt - self.clock.time()))
            self._wake.wait(wait)
