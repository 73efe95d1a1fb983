"""Helpers of bench/bench_agent.py: a webhook receiver, a publish-socket recorder, waits."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import zmq

from core import protocol


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


class Hook:
    """A loopback webhook receiver that stamps each POST's arrival."""

    def __init__(self) -> None:
        self.hits: list[tuple[float, dict[str, Any]]] = []
        hits = self.hits

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hits.append((time.monotonic(), json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Frames:
    """Everything the broker publishes, stamped on arrival, on a thread of its own."""

    def __init__(self, endpoint: str) -> None:
        self.items: list[tuple[float, dict[str, Any]]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(endpoint,), daemon=True)
        self.thread.start()

    def _run(self, endpoint: str) -> None:
        sock = zmq.Context.instance().socket(zmq.SUB)
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(endpoint)
        while not self.stop.is_set():
            if sock.poll(50):
                self.items.append((time.monotonic(), protocol.decode(sock.recv_multipart())))
        sock.close(linger=0)

    def first(self, pred: Any, after: float, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, f in list(self.items):
                if t >= after and pred(f):
                    return t
            time.sleep(0.005)  # poll
        return None


def firing(rule: str) -> Any:
    return lambda f: (f["kind"] == "alert" and f["alert"]["rule"] == rule
                      and f["alert"]["state"] == "firing")


def resolved(rule: str) -> Any:
    return lambda f: (f["kind"] == "alert" and f["alert"]["rule"] == rule
                      and f["alert"]["state"] == "resolved")


def quiet(frames: Frames, rule: str, timeout: float = 8.0) -> None:
    """Wait until the rule's alert is not firing and has not changed for a second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [(t, f) for t, f in list(frames.items)
                if f["kind"] == "alert" and f["alert"]["rule"] == rule]
        if not mine or (mine[-1][1]["alert"]["state"] not in ("firing", "pending")
                        and time.monotonic() - mine[-1][0] > 1.0):
            return
        time.sleep(0.05)  # poll


def flood(stop: threading.Event) -> None:
    srv = socket.create_server(("127.0.0.1", 0))

    def drain() -> None:
        conn, _ = srv.accept()
        with conn:
            while conn.recv(4 * 2**20):
                pass
    t = threading.Thread(target=drain)
    t.start()
    chunk = b"x" * (4 * 2**20)
    with socket.create_connection(srv.getsockname()) as c:
        while not stop.is_set():
            c.sendall(chunk)
    t.join()
    srv.close()
