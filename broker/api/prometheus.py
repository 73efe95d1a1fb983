"""Prometheus text exposition on HTTP ``/metrics``, for teams that already scrape.

The HTTP server runs on its own thread. It asks the core loop for a copy of what it needs
(shallow dict copies: microseconds even for a large fleet) and formats the text on its own
thread, so a scrape never holds up ingest.
"""

from __future__ import annotations

import base64
import hmac
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from broker.ingest.loop import BrokerCore

_LABEL_ESCAPE = str.maketrans({"\\": "\\\\", "\"": "\\\"", "\n": "\\n"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.translate(_LABEL_ESCAPE)


def render(view: dict[str, Any]) -> str:
    """The exposition text for a view taken by ``take_view`` on the core thread."""
    out: list[str] = [
        "# HELP monitor_up Whether the host is reporting (1) or silent (0).",
        "# TYPE monitor_up gauge"]
    for host, status, _last, _m in view["hosts"]:
        out.append(f'monitor_up{{host="{_label(host)}"}} {1 if status == "up" else 0}')
    out += ["# HELP monitor_last_seen_seconds Unix time of the host's latest frame.",
            "# TYPE monitor_last_seen_seconds gauge"]
    for host, _s, last, _m in view["hosts"]:
        out.append(f'monitor_last_seen_seconds{{host="{_label(host)}"}} {last}')
    out += ["# HELP monitor_value Latest value of every series an agent reports.",
            "# TYPE monitor_value gauge"]
    for host, _s, _l, metrics in view["hosts"]:
        h = _label(host)
        out.extend(f'monitor_value{{host="{h}",metric="{_label(k)}"}} {v!r}'
                   for k, v in metrics.items())
    out += ["# HELP monitor_alerts Alerts by state and severity.",
            "# TYPE monitor_alerts gauge"]
    for (state, sev), n in sorted(view["alerts"].items()):
        out.append(f'monitor_alerts{{state="{state}",severity="{sev}"}} {n}')
    out += ["# HELP monitor_ingest_frames_total Frames received on the ingest socket.",
            "# TYPE monitor_ingest_frames_total counter",
            f"monitor_ingest_frames_total {view['frames']}",
            "# HELP monitor_ingest_rejected_total Frames rejected, by reason.",
            "# TYPE monitor_ingest_rejected_total counter"]
    for reason, n in sorted(view["rejected"].items()):
        out.append(f'monitor_ingest_rejected_total{{reason="{_label(reason)}"}} {n}')
    out += ["# HELP monitor_publish_seq Publish sequence number.",
            "# TYPE monitor_publish_seq counter", f"monitor_publish_seq {view['pseq']}"]
    return "\n".join(out) + "\n"


def take_view(core: BrokerCore) -> dict[str, Any]:
    """Run on the core thread: copies only, no formatting."""
    alerts: dict[tuple[str, str], int] = {}
    if core.engine is not None:
        for a in core.engine.alerts():
            key = (a["state"], a["severity"])
            alerts[key] = alerts.get(key, 0) + 1
    return {"hosts": [(h.host, h.status, h.last_seen, dict(h.metrics))
                      for h in core.state.hosts.values()],
            "alerts": alerts, "frames": core.frames, "rejected": dict(core.rejected),
            "pseq": core.pseq}


class Exporter:
    def __init__(self, core: BrokerCore, host: str = "127.0.0.1", port: int = 9464,
                 auth: str = "") -> None:
        self.core = core
        # HTTP basic auth: the Authorization header a scraper must send ("" = none needed)
        self._expect = ("Basic " + base64.b64encode(auth.encode()).decode()) if auth else ""
        try:
            self.server = ThreadingHTTPServer((host, port), self._handler())
        except OSError as exc:  # the port in use, say: name it, the errno alone does not
            raise OSError(exc.errno, f"--metrics-port {port}: cannot listen on {host}:{port}: "
                                     f"{exc.strerror or exc}") from None
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread: threading.Thread | None = None

    def view(self, timeout: float = 2.0) -> dict[str, Any] | None:
        try:
            view: dict[str, Any] = self.core.call(lambda: take_view(self.core), timeout)
        except TimeoutError:
            return None
        return view

    def _handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if exporter._expect and not hmac.compare_digest(
                        self.headers.get("Authorization", ""), exporter._expect):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="monitor"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.split("?")[0] != "/metrics":
                    self._send(404, "not found: try /metrics\n")
                    return
                view = exporter.view()
                if view is None:
                    self._send(503, "broker core loop did not answer in 2 s\n")
                    return
                self._send(200, render(view), CONTENT_TYPE)

            def _send(self, code: int, body: str, ctype: str = "text/plain") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        return Handler

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="exporter",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(5)
