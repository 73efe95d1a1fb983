"""Socket set-up, once: every ZeroMQ socket of ours is made here.

One place decides linger, high-water marks, heartbeats, the largest message a socket
accepts and CurveZMQ, for the broker's three sockets, the agent's PUB, monitor-ctl's and
the TUI's DEALER and the TUI's SUB.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import zmq


class Curve(Protocol):
    """core/keys.ServerCurve or ClientCurve: puts CURVE keys on a socket."""

    def apply(self, sock: zmq.Socket[Any]) -> None: ...


def make_socket(ctx: zmq.Context[Any], kind: int, *, curve: Curve | None = None,
                linger: int = 0, sndhwm: int = 0, rcvhwm: int = 0, subscribe: bytes | None = None,
                heartbeat: bool = False, maxmsgsize: int = 0) -> zmq.Socket[Any]:
    """A socket of ``kind`` with our options; 0 leaves an option at ZeroMQ's default."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, linger)
    if sndhwm:
        sock.setsockopt(zmq.SNDHWM, sndhwm)
    if rcvhwm:
        sock.setsockopt(zmq.RCVHWM, rcvhwm)
    if maxmsgsize:
        sock.setsockopt(zmq.MAXMSGSIZE, maxmsgsize)
    if heartbeat:  # dead peers are noticed, and a connecting socket redials within 5 s
        sock.setsockopt(zmq.HEARTBEAT_IVL, 5000)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 15000)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
    if curve is not None:
        curve.apply(sock)
    if subscribe is not None:
        sock.setsockopt(zmq.SUBSCRIBE, subscribe)
    return sock


def bind(sock: zmq.Socket[Any], endpoint: str) -> None:
    """Bind, or close the socket and raise OSError naming the endpoint."""
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        sock.close()
        raise OSError(f"cannot bind {endpoint}: {exc.strerror}") from None


def connect(sock: zmq.Socket[Any], endpoints: Iterable[str]) -> None:
    for endpoint in endpoints:
        sock.connect(endpoint)
