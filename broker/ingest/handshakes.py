"""Refused CurveZMQ handshakes, counted: libzmq's socket monitor on the broker's sockets.

A client with a key the broker does not know, or one that speaks plain text to a CURVE
socket, fails its handshake inside libzmq; pyzmq's authenticator logs that only at debug
level. The core loop polls these monitor sockets and counts each refusal by socket and
kind (``auth``: ZAP said no; ``protocol``: wrong server key or not CURVE; ``other``), shown
in ``status`` under ``curve``, and logs a warning at most every ``LOG_EVERY_S``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

log = logging.getLogger(__name__)
LOG_EVERY_S = 10.0
_EVENTS: dict[int, str] = {zmq.EVENT_HANDSHAKE_FAILED_AUTH: "auth",
           zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "protocol",
           zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "other"}


class HandshakeWatch:
    def __init__(self, sockets: dict[str, zmq.Socket[Any]]) -> None:
        mask = 0
        for ev in _EVENTS:
            mask |= ev
        self.monitors = {name: sock.get_monitor_socket(mask) for name, sock in sockets.items()}
        self.refused: Counter[str] = Counter()
        self._logged = 0.0

    def drain(self, name: str) -> None:
        mon = self.monitors[name]
        while mon.poll(0):
            try:
                msg = recv_monitor_message(mon, zmq.NOBLOCK)
            except zmq.Again:
                return
            kind = _EVENTS.get(msg["event"])
            if kind is None:
                continue
            self.refused[f"{name}/{kind}"] += 1
            if time.monotonic() - self._logged >= LOG_EVERY_S:
                self._logged = time.monotonic()
                log.warning("refused a CurveZMQ handshake on %s (%s); %d refused so far",
                            name, kind, sum(self.refused.values()))

    def stats(self) -> dict[str, Any]:
        return {"refused": sum(self.refused.values()), "refused_by": dict(self.refused)}

    def close(self) -> None:
        for mon in self.monitors.values():
            mon.close(linger=0)
