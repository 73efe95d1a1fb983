"""Loopback stand-ins for Slack, Twilio, webhook receivers, Alertmanager and SMTP.

Imported by the notify tests; holds no tests itself.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Recorder:
    """An HTTP server recording every request; answers with queued status codes, then 200."""

    def __init__(self, codes: list[int] | None = None, delay: float = 0.0,
                 on_request: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.codes: deque[int] = deque(codes or [])
        self.delay = delay
        self.on_request = on_request
        self.cond = threading.Condition()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                req = {"path": self.path, "headers": {k.lower(): v for k, v in
                                                      self.headers.items()},
                       "body": body, "t": time.perf_counter()}
                if rec.on_request:
                    rec.on_request(req)
                if rec.delay:
                    threading.Event().wait(rec.delay)
                with rec.cond:
                    code = rec.codes.popleft() if rec.codes else 200
                    req["code"] = code
                    rec.requests.append(req)
                    rec.cond.notify_all()
                out = b'{"ok":true}' if code < 400 else b'{"error":"nope"}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(out)
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ok(self) -> list[dict[str, Any]]:
        with self.cond:
            return [r for r in self.requests if r["code"] < 300]

    def wait_for(self, count: int, timeout: float = 10.0, ok_only: bool = True) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [r for r in self.requests if r["code"] < 300 or not ok_only]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(got)}")
                self.cond.wait(left)

    def json(self, i: int = -1) -> Any:
        return json.loads(self.requests[i]["body"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def poll(pred: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        threading.Event().wait(0.01)


def alert(id_: str = "a1", rule: str = "high_cpu", host: str = "web-1",
          severity: str = "critical", state: str = "firing", **extra: Any) -> dict[str, Any]:
    a = {"id": id_, "rule": rule, "host": host, "labels": {}, "severity": severity,
         "state": state, "acked": False, "ack": None, "silenced": [], "inhibited": False,
         "flapping": False, "value": 97.0, "threshold": 90.0, "metric": "cpu.percent",
         "summary": f"CPU on {host} at 97%", "description": "", "started_at": 1_700_000_000.0,
         "updated_at": 1_700_000_000.0, "resolved_at": None, "simulated": False}
    a.update(extra)
    return a


def alert_event(a: dict[str, Any], frm: str = "pending", to: str | None = None,
                ts: float = 1_700_000_000.0) -> dict[str, Any]:
    from broker.events import make_event

    to = to or a["state"]
    return make_event("alert", a["summary"], ts=ts, host=a["host"], severity=a["severity"],
                      rule=a["rule"], alert_id=a["id"],
                      data={"from": frm, "to": to, "value": a["value"],
                            "threshold": a["threshold"], "alert": a})
