"""Data in from anyone, through a real agent and broker: a real StatsD UDP client, real HTTP
servers serving exposition text, real check scripts (one of which hangs)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration

EXPOSITION = b"""# HELP app_requests_total Requests.
# TYPE app_requests_total counter
app_requests_total{code="200",method="get"} 1027
app_requests_total{code="500",method="get"} 3
# TYPE app_queue_depth gauge
app_queue_depth 42
# TYPE go_goroutines gauge
go_goroutines 12
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{le="0.1"} 5
app_latency_seconds_bucket{le="+Inf"} 7
app_latency_seconds_sum 1.5
app_latency_seconds_count 7
"""


class Exposition:
    """A real HTTP server: /metrics, /garbage (unparsable), /slow (past the timeout)."""

    def __init__(self) -> None:
        release = self.release = threading.Event()

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/slow":
                    release.wait(1.0)
                body = {"/metrics": EXPOSITION, "/slow": EXPOSITION}.get(
                    self.path, b"this is { not exposition text 1 2 3\n")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # /slow: the scraper gave up at its timeout, as it should

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def expo() -> Iterator[Exposition]:
    e = Exposition()
    yield e
    e.close()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script(tmp: Path, name: str, body: str) -> str:
    path = tmp / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def metrics_of(broker: Broker, host: str) -> dict[str, float]:
    found = broker.ctl_json("hosts", host)
    return found[0]["metrics"] if found else {}


def test_scrape_targets_up_down_garbage_and_slow(tmp_path: Path, broker: Broker,
                                                 expo: Exposition) -> None:
    conf = tmp_path / "agent.toml"
    conf.write_text(f'''
[agent]
[[agent.scrape]]
name = "app"
url = "{expo.base}/metrics"
interval = "0.3s"
deny = ["go_*"]
labels = {{ job = "shop" }}

[[agent.scrape]]
name = "gone"
url = "http://127.0.0.1:{free_port()}/metrics"
interval = "0.3s"

[[agent.scrape]]
name = "garbage"
url = "{expo.base}/garbage"
interval = "0.3s"

[[agent.scrape]]
name = "slow"
url = "{expo.base}/slow"
interval = "0.3s"
timeout = "0.3s"
''')
    agent = start_agent(broker.endpoints["ingest"], "--host", "scr", "--config", str(conf))
    try:
        m = wait_for(lambda: (lambda m: m if "scrape.slow.up" in m and "scrape.gone.up" in m
                              and "scrape.garbage.up" in m and "scrape.app.up" in m else None)(
            metrics_of(broker, "scr")), timeout=20, what="all four targets scraped")
        assert m['app_requests_total{code="500",job="shop",method="get"}'] == 3.0
        assert m['app_queue_depth{job="shop"}'] == 42.0
        assert m['app_latency_seconds_bucket{job="shop",le="+Inf"}'] == 7.0
        assert not any(k.startswith("go_") for k in m)  # denied
        assert m["scrape.app.up"] == 1.0 and m["scrape.app.samples"] == 7.0
        for bad in ("gone", "garbage", "slow"):
            assert m[f"scrape.{bad}.up"] == 0.0, bad
        events = wait_for(lambda: broker.ctl_json("search", "scrape failed"), timeout=10,
                          what="the scrape failure events")
        text = " ".join(e["message"] for e in events)
        assert "gone" in text or "refused" in text.lower()
        assert agent.poll() is None  # no crash
    finally:
        stop_proc(agent)


NODE_EXPORTER = shutil.which("node_exporter") or shutil.which("prometheus-node-exporter")


@pytest.mark.skipif(NODE_EXPORTER is None, reason="node_exporter not installed")
def test_scrape_a_real_node_exporter(tmp_path: Path, broker: Broker) -> None:
    port = free_port()
    assert NODE_EXPORTER is not None
    exporter = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conf = tmp_path / "agent.toml"
    conf.write_text(f'[[agent.scrape]]\nname = "node"\nurl = "http://127.0.0.1:{port}/metrics"'
                    f'\ninterval = "0.5s"\nallow = ["node_load1", "node_memory_*"]\n')
    agent = start_agent(broker.endpoints["ingest"], "--host", "nx", "--config", str(conf))
    try:
        m = wait_for(lambda: (lambda m: m if m.get("scrape.node.up") == 1.0 else None)(
            metrics_of(broker, "nx")), timeout=20, what="node_exporter scraped")
        assert "node_load1" in m
    finally:
        stop_proc(agent)
        exporter.kill()
        exporter.wait()


def test_checks_exit_codes_perfdata_and_a_hang(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "checks"\nkind = "check"\ncheck = "*"\n'
                     'unknown = "critical"\n')
    broker = Broker(tmp_path / "data", "--rules", str(rules))
    pidfile = tmp_path / "hang.pid"
    ok = script(tmp_path, "ok", "echo 'DISK OK - free 56% | /=2643MB;5948;5958;0;5968 "
                                "'\"'\"'load avg'\"'\"'=0.5;1;2'\nexit 0\n")
    warn = script(tmp_path, "warn", "echo 'HTTP WARNING: slow | time=1500ms;1000;2000'\n"
                                    "echo 'second line of long output'\n"
                                    "echo 'more | size=2KB'\nexit 1\n")
    crit = script(tmp_path, "crit", "echo 'PROCS CRITICAL: 0 processes'\nexit 2\n")
    unk = script(tmp_path, "unk", "echo 'UNKNOWN: cannot parse'\nexit 3\n")
    hang = script(tmp_path, "hang", f"echo $$ > {pidfile}\nexec sleep 600\n")
    conf = tmp_path / "agent.toml"
    lines = []
    for name, path in (("ok", ok), ("warn", warn), ("crit", crit), ("unk", unk),
                       ("hang", hang)):
        timeout = "0.5s" if name == "hang" else "5s"
        lines.append(f'[[agent.check]]\nname = "{name}"\ncommand = ["{path}"]\n'
                     f'interval = "0.5s"\ntimeout = "{timeout}"\n')
    lines.append('[[agent.check]]\nname = "missing"\ncommand = "/nonexistent/check_x -w 1"\n'
                 'interval = "0.5s"\n')
    conf.write_text("\n".join(lines))
    agent = start_agent(broker.endpoints["ingest"], "--host", "chk", "--config", str(conf))
    try:
        m = wait_for(lambda: (lambda m: m if all(f"check.{n}.state" in m for n in (
            "ok", "warn", "crit", "unk", "hang", "missing")) else None)(
            metrics_of(broker, "chk")), timeout=20, what="every check to report")
        assert [m[f"check.{n}.state"] for n in ("ok", "warn", "crit", "unk", "hang",
                                                "missing")] == [0, 1, 2, 3, 3, 3]
        assert m["check.ok./"] == 2643 * 2**20 and m["check.ok.load_avg"] == 0.5
        assert m["check.warn.time"] == 1.5 and m["check.warn.size"] == 2048.0
        assert m["check.hang.duration_s"] < 3.0
        # the hung check was killed at its timeout, not left behind
        pid = int(wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(),
                           what="the hang script's pid"))
        wait_for(lambda: _gone(pid), timeout=5, what="the hung check to be killed")
        # the check rule kind: one alert per failing check, severity from the state
        alerts = wait_for(lambda: (lambda a: a if len(a) == 5 else None)(
            [a for a in broker.ctl_json("alerts") if a["state"] == "firing"]),
            timeout=10, what="five firing check alerts")
        sev = {a["metric"]: a["severity"] for a in alerts}
        assert sev == {"check.warn.state": "warning", "check.crit.state": "critical",
                       "check.unk.state": "critical", "check.hang.state": "critical",
                       "check.missing.state": "critical"}
        events = broker.ctl_json("search", "check crit CRITICAL")
        assert any("PROCS CRITICAL: 0 processes" in e["message"] for e in events)
        assert agent.poll() is None
    finally:
        stop_proc(agent)
        broker.stop()
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), 9)
            except (OSError, ValueError):
                pass


def test_statsd_counters_gauges_timers_from_a_real_udp_client(tmp_path: Path,
                                                              broker: Broker) -> None:
    port = free_port(socket.SOCK_DGRAM)
    conf = tmp_path / "agent.toml"
    conf.write_text('[agent.statsd]\nflush = "0.3s"\n')
    agent = start_agent(broker.endpoints["ingest"], "--host", "sd", "--config", str(conf),
                        "--statsd", f"127.0.0.1:{port}")
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        def send_and_look() -> dict[str, float] | None:
            client.sendto(b"shop.orders:1|c\nshop.orders:1|c|@0.5\nshop.temp:21.5|g\n"
                          b"shop.lat:10|ms\nshop.lat:30|ms\nshop.hits:1|c|#route:/x,env:prod\n"
                          b"shop.users:alice|s\nshop.users:bob|s\nthis is not statsd\n",
                          ("127.0.0.1", port))
            m = metrics_of(broker, "sd")
            return m if "statsd.shop.lat.p99" in m and m.get(
                "statsd.statsd.bad_lines", 0) >= 1 else None
        m = wait_for(send_and_look, timeout=20, what="a statsd flush")
        assert m["statsd.shop.temp"] == 21.5
        assert m["statsd.shop.orders.count"] % 3 == 0  # 1 + 1/0.5 per datagram
        assert m["statsd.shop.lat.max"] == 30.0 and m["statsd.shop.lat.min"] == 10.0
        assert m['statsd.shop.hits{env="prod",route="/x"}.count'] >= 1
        assert m["statsd.shop.users.unique"] == 2.0
        events = wait_for(lambda: broker.ctl_json("search", "malformed"), timeout=10,
                          what="the malformed-line event")
        assert "not statsd" in events[0]["message"] or "no 'name:'" in events[0]["message"]
        assert agent.poll() is None
    finally:
        client.close()
        stop_proc(agent)


def _gone(pid: int) -> bool:
    """Exited or a zombie; a process that exits between the two looks is gone too."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
