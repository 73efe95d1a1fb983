"""Latency from an alert's firing event to the webhook request arriving, group_wait = 0.

    python -m bench.bench_notify [--n 300]

Hands alert events to Notifier.handle one at a time (started notifier: outbox write, wake
the receiver's worker, HTTP POST over loopback) and timestamps each request as it reaches a
loopback ThreadingHTTPServer. The ceiling, measured in the same run against the same
server, is a bare urllib POST of the same body. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import tomllib
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from broker.events import make_event
from broker.notify.config import parse_notify_config
from broker.notify.dispatcher import Notifier


class Sink:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                t = time.perf_counter()  # the request has fully arrived
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with sink.cond:
                    sink.arrivals.append(t)
                    sink.cond.notify_all()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float = 5.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.arrivals) >= count, timeout):
                raise TimeoutError(f"request {count} did not arrive")
            return self.arrivals[count - 1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def alert_event(i: int, now: float) -> dict[str, Any]:
    a = {"id": f"bench{i:05d}", "rule": "high_cpu", "host": f"web-{i}", "labels": {},
         "severity": "critical", "state": "firing", "acked": False, "silenced": [],
         "inhibited": False, "flapping": False, "value": 97.0, "threshold": 90.0,
         "metric": "cpu.percent", "summary": f"CPU on web-{i} at 97%", "started_at": now,
         "updated_at": now, "simulated": False}
    return make_event("alert", a["summary"], ts=now, host=a["host"], severity="critical",
                      rule="high_cpu", alert_id=a["id"],
                      data={"from": "pending", "to": "firing", "alert": a})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    sink = Sink()
    toml = f"""
[[receiver]]
name = "hook"
type = "webhook"
url = "{sink.url}"
[[route]]
receiver = "hook"
group_wait = "0s"
"""
    cfg = parse_notify_config(tomllib.loads(toml), "bench")
    with tempfile.TemporaryDirectory() as tmp:
        n = Notifier(cfg, Path(tmp) / "notify.db")
        n.start()
        try:
            notify, bare = [], []
            body = b"x" * 900  # about the size of one alert's webhook body
            for i in range(args.n + 20):  # the first 20 warm up
                t0 = time.perf_counter()
                n.handle(alert_event(i, time.time()))
                t1 = sink.wait(2 * i + 1)
                req = urllib.request.Request(sink.url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
                t2 = time.perf_counter()
                with urllib.request.urlopen(req, timeout=5) as resp:
                    resp.read()
                t3 = sink.wait(2 * i + 2)
                if i >= 20:
                    notify.append((t1 - t0) * 1000)
                    bare.append((t3 - t2) * 1000)
        finally:
            n.stop()
            sink.close()
    print(f"notify latency, firing event -> webhook request arrived (group_wait=0), "
          f"n={args.n}")
    for name, xs in (("notifier", notify), ("bare urllib POST (ceiling)", bare)):
        print(f"  {name:28s} p50 {pct(xs, 50):6.2f} ms   p99 {pct(xs, 99):6.2f} ms   "
              f"max {max(xs):6.2f} ms   mean {statistics.fmean(xs):6.2f} ms")
    print(f"  ratio notifier/ceiling: p50 {pct(notify, 50) / pct(bare, 50):.1f}x   "
          f"p99 {pct(notify, 99) / pct(bare, 99):.1f}x   (target p99 <= 50 ms)")


if __name__ == "__main__":
    main()
