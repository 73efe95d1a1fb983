"""A blocking control-socket client (DEALER) for monitor-ctl, tests and scripts.

The TUI does not use this from its UI thread: its client worker owns its own sockets.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import zmq

from core import protocol
from core.sockets import make_socket


class ControlError(RuntimeError):
    """The broker answered with an error; ``str(err)`` is its message."""


class BrokerTimeout(TimeoutError):
    pass


def no_answer(endpoint: str, seconds: float, curve: Any) -> str:
    """What to say when the broker is silent: ZeroMQ drops a refused handshake without a
    word, so silence with keys most often means the broker does not know (or revoked) ours."""
    if curve is not None:
        return (f"no answer from broker at {endpoint} in {seconds:g} s: the broker may not "
                "know this key (or is not running)")
    return (f"no reply from broker at {endpoint} in {seconds:g} s (is monitor-broker running? "
            "a broker with keys needs --curve-server-key and --curve-secret)")


class ControlClient:
    def __init__(self, endpoint: str, timeout: float = 3.0,
                 ctx: zmq.Context[Any] | None = None, curve: Any = None,
                 stop: threading.Event | None = None) -> None:
        """``stop``: once set, a request waiting for its reply gives up within 50 ms (a
        broker stopping does not sit out the timeout on a dead peer's link)."""
        self.endpoint = endpoint
        self.curve = curve  # core.keys.ClientCurve or None
        self.timeout = timeout
        self.stop = stop
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self._connect()

    def _connect(self) -> zmq.Socket[Any]:
        sock = make_socket(self.ctx, zmq.DEALER, curve=self.curve,
                           maxmsgsize=protocol.MAX_REPLY_BYTES)
        sock.connect(self.endpoint)
        return sock

    def request(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        req_id = uuid.uuid4().hex[:12]
        self.sock.send(protocol.request(req_id, op, **args))
        wait_ms = int((self.timeout if timeout is None else timeout) * 1000)
        while True:
            if not self._poll(wait_ms):
                # a DEALER would deliver the stale reply to the next request: start afresh
                self.sock.close(linger=0)
                self.sock = self._connect()
                raise BrokerTimeout(no_answer(self.endpoint, wait_ms / 1000, self.curve))
            reply = protocol.unpack_reply(self.sock.recv())
            if isinstance(reply, dict) and reply.get("id") == req_id:
                break  # replies to abandoned requests are skipped
        if not reply.get("ok"):
            raise ControlError(reply.get("error") or "unknown error")
        return reply.get("result")

    def _poll(self, wait_ms: int) -> bool:
        if self.stop is None:
            return bool(self.sock.poll(wait_ms))
        left = wait_ms
        while left > 0 and not self.stop.is_set():
            if self.sock.poll(min(left, 50)):
                return True
            left -= 50
        return False

    def close(self) -> None:
        self.sock.close(linger=0)

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
