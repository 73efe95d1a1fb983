"""A TCP proxy on loopback that a test can cut and mend: a network partition on demand."""

from __future__ import annotations

import selectors
import socket
import threading


class TcpProxy:
    """Listens on 127.0.0.1:<ephemeral>, forwards to ``target`` once it is set.

    ``cut()`` drops every open connection and refuses new ones (accepted, then closed) until
    ``mend()``; ZeroMQ on either side sees a dead peer and redials, as across a real
    partition.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.target: tuple[str, int] | None = None
        self.open = True
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    def point_at(self, endpoint: str) -> None:
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        self.target = (host, int(port))

    def cut(self) -> None:
        with self._lock:
            self.open = False
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def mend(self) -> None:
        with self._lock:
            self.open = True

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._thread.join(timeout=5)
        self.listener.close()

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ, None)
        peers: dict[socket.socket, socket.socket] = {}
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self.listener:
                    client, _ = self.listener.accept()
                    with self._lock:
                        allowed = self.open and self.target is not None
                    if not allowed:
                        client.close()
                        continue
                    try:
                        assert self.target is not None
                        upstream = socket.create_connection(self.target, timeout=2)
                    except OSError:
                        client.close()
                        continue
                    with self._lock:
                        self._pairs.append((client, upstream))
                    peers[client], peers[upstream] = upstream, client
                    sel.register(client, selectors.EVENT_READ, None)
                    sel.register(upstream, selectors.EVENT_READ, None)
                    continue
                other = peers.get(sock)
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if data and other is not None:
                    try:
                        other.sendall(data)
                        continue
                    except OSError:
                        pass
                for s in (sock, other):
                    if s is not None and s in peers:
                        peers.pop(s, None)
                        try:
                            sel.unregister(s)
                        except (KeyError, ValueError):
                            pass
                        s.close()
        sel.close()
