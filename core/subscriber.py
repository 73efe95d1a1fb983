"""A blocking subscriber to a broker's publish stream, for monitor-ctl and scripts.

Subscribes to exactly what is asked for: the fleet digest (``d.fleet``, once a second),
the metrics of named hosts (one exact topic each: ``web-1`` never brings ``web-10``), and
optionally alerts and events. ``watch`` changes the hosts at any time.

    with Subscriber("tcp://broker:5556", hosts=["web-1"]) as sub:
        frame = sub.recv(timeout=5.0)   # a decoded frame, or None at the timeout
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import zmq

from core import protocol
from core.sockets import make_socket


class Subscriber:
    def __init__(self, endpoint: str, *, hosts: Iterable[str] = (), digest: bool = True,
                 alerts: bool = False, events: bool = False,
                 ctx: zmq.Context[Any] | None = None, curve: Any = None) -> None:
        self.endpoint = endpoint
        self.ctx = ctx or zmq.Context.instance()
        self.sock = make_socket(self.ctx, zmq.SUB, curve=curve, rcvhwm=100_000,
                                maxmsgsize=protocol.MAX_PUBLISH_MSG)
        prefixes = [protocol.topic("d", "fleet")] if digest else []
        prefixes += [b"a."] if alerts else []
        prefixes += [b"e.", b"h."] if events else []
        for prefix in prefixes:
            self.sock.setsockopt(zmq.SUBSCRIBE, prefix)
        self.hosts: set[str] = set()
        self.watch(hosts)
        self.sock.connect(endpoint)

    def watch(self, hosts: Iterable[str]) -> None:
        """Receive the metrics of exactly these hosts from now on."""
        want = set(hosts)
        for host in self.hosts - want:
            self.sock.setsockopt(zmq.UNSUBSCRIBE, protocol.host_topic(host))
        for host in want - self.hosts:
            self.sock.setsockopt(zmq.SUBSCRIBE, protocol.host_topic(host))
        self.hosts = want

    def recv(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next frame (decoded and checked), or None after ``timeout`` seconds."""
        while True:
            if timeout is not None and not self.sock.poll(int(timeout * 1000)):
                return None
            parts = self.sock.recv_multipart()
            try:
                return protocol.decode(parts, cap=protocol.MAX_PUBLISH_MSG)
            except protocol.ProtocolError:
                continue  # the broker checked it; nothing a reader can do with it

    def close(self) -> None:
        self.sock.close(linger=0)

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
