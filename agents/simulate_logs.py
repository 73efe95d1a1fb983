"""Fake log lines for the fleet simulator, by role and by incident kind."""

from __future__ import annotations

import random

_ROUTINE: dict[str, tuple[tuple[str, str], ...]] = {
    "web": (("info", 'GET /api/orders/{n} 200 {ms}ms'),
            ("info", 'POST /checkout 201 {ms}ms'),
            ("warning", "upstream response time {ms}ms exceeds 500ms for /search"),
            ("error", "connect() failed (111: Connection refused) while connecting to upstream")),
    "api": (("info", "request id={n} served in {ms}ms"),
            ("debug", "cache miss for key user:{n}"),
            ("warning", "retrying call to payments (attempt 2/3)"),
            ("error", "unhandled exception in /v1/orders: KeyError: 'sku'")),
    "worker": (("info", "job {n} done in {ms}ms"),
               ("info", "picked up 25 jobs from queue default"),
               ("warning", "job {n} took {ms}ms, over its 2000ms budget"),
               ("error", "job {n} failed: ConnectionResetError: [Errno 104] Connection reset")),
    "db": (("info", "checkpoint complete: wrote {n} buffers"),
           ("info", "automatic vacuum of table app.public.events"),
           ("warning", "duration: {ms} ms  statement: SELECT * FROM orders WHERE ..."),
           ("error", "could not serialize access due to concurrent update")),
    "cache": (("info", "Background saving started by pid {n}"),
              ("info", "DB saved on disk"),
              ("warning", "Client id={n} closed for overcoming of output buffer limits"),
              ("error", "MISCONF Errors writing to the AOF file: No space left on device")),
    "lb": (("info", "backend web has 5 servers available"),
           ("info", "Proxy api started."),
           ("warning", "Server web/web-02 is DOWN, reason: Layer4 timeout"),
           ("error", "backend api has no server available!")),
}
_WEIGHTS = (60, 25, 10, 5)  # info-ish, info, warning, error

_INCIDENT: dict[str, tuple[tuple[str, str], ...]] = {
    "cpu": (("warning", "event loop blocked for {ms}ms"),
            ("error", "worker timeout (pid:{n}), killing"),
            ("critical", "watchdog: BUG: soft lockup - CPU#3 stuck for 22s")),
    "disk": (("warning", "filesystem /var is 95% full"),
             ("error", "write failed: [Errno 28] No space left on device"),
             ("critical", "could not write to log file: No space left on device")),
}


def fake_line(rng: random.Random, role: str, source: str,
              incident: str | None) -> tuple[str, str, str]:
    """``(level, message, source)`` for a host of ``role``, about ``incident`` if given."""
    if incident in _INCIDENT:
        level, tmpl = rng.choice(_INCIDENT[incident])
    else:
        level, tmpl = rng.choices(_ROUTINE[role], weights=_WEIGHTS)[0]
    msg = tmpl.format(n=rng.randrange(1000, 99999), ms=rng.randrange(3, 4000))
    return level, msg, source
