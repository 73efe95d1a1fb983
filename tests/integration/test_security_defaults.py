"""Safe by default: loopback without keys, --insecure said out loud, /metrics and the web
console closed to strangers. Real processes on loopback."""

from __future__ import annotations

import base64
import getpass
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.procs import ENV, Broker, command, stop_proc, wait_for

pytestmark = pytest.mark.integration


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=ENV)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_keyless_broker_refuses_other_addresses_without_insecure(tmp_path: Path) -> None:
    for flags in (["--bind", "0.0.0.0"], ["--control", "tcp://*:0"]):
        out = run(*command("monitor-broker"), "--data-dir", str(tmp_path / "d"),
                  "--port", str(free_port()), *flags)
        assert out.returncode == 1, out.stdout
        assert out.stderr.count("\n") == 1
        assert "refusing to bind tcp://" in out.stderr and "--insecure" in out.stderr
    out = run(*command("monitor-broker"), "--data-dir", str(tmp_path / "d"), "--metrics-port",
              "0", "--metrics-bind", "0.0.0.0")
    assert out.returncode == 1 and "refusing to serve /metrics on 0.0.0.0" in out.stderr


def test_insecure_is_warned_at_start_and_in_status(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "d", "--control", "tcp://0.0.0.0:*", "--insecure")
    try:
        assert broker.proc.stderr is not None
        assert "WARNING: --insecure" in broker.proc.stderr.readline()
        sec = broker.ctl_json("status")["security"]
        assert sec["mode"] == "insecure" and "act as admin" in sec["warning"]
        assert "WARNING: no keys" in broker.ctl("status").stdout
    finally:
        broker.stop()


def test_keyless_loopback_clients_are_admins_marked_local(broker: Broker) -> None:
    assert broker.ctl_json("status")["security"]["mode"] == "loopback"
    alert_id = broker.ctl_json("simulate", "high_cpu_usage", "--host", "h")["alert_ids"][0]
    assert broker.ctl("ack", alert_id, "--author", "ana").returncode == 0
    alert = next(a for a in broker.ctl_json("alerts") if a["id"] == alert_id)
    assert alert["ack"]["author"] == "local:ana"
    assert broker.ctl("unack", alert_id).returncode == 0
    silence = broker.ctl_json("silence", "host=h", "--for", "1m")
    assert silence["author"] == f"local:{getpass.getuser()}"
    want = {"simulate", "ack", "unack", "silence"}  # the store commits every 100 ms: poll
    events = wait_for(lambda: (ev := broker.ctl_json("search", "kind:audit")) and want <= {
        e["data"]["op"] for e in ev} and ev, timeout=10, what="audit events")
    assert {e["data"]["op"] for e in events} >= {"simulate", "ack", "unack", "silence"}
    assert all(e["data"]["who"].startswith("local:") for e in events)


def test_metrics_behind_basic_auth(tmp_path: Path) -> None:
    auth = tmp_path / "metrics.auth"
    auth.write_text("prom:s3cret-words\n")
    broker = Broker(tmp_path / "d", "--metrics-port", "0", "--metrics-bind", "0.0.0.0",
                    "--metrics-auth-file", str(auth))
    try:
        url = broker.ctl_json("status")["endpoints"]["metrics"].replace("0.0.0.0", "127.0.0.1")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=5)
        assert err.value.code == 401 and "Basic" in err.value.headers["WWW-Authenticate"]
        err.value.close()
        for creds, ok in (("prom:wrong", False), ("prom:s3cret-words", True)):
            req = urllib.request.Request(url, headers={
                "Authorization": "Basic " + base64.b64encode(creds.encode()).decode()})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    assert ok and b"monitor_publish_seq" in resp.read()
            except urllib.error.HTTPError as exc:
                exc.close()
                assert not ok and exc.code == 401
    finally:
        broker.stop()


def test_web_console_needs_its_token(tmp_path: Path) -> None:
    port = free_port()
    token = "correct-horse-battery"
    proc = subprocess.Popen([*command("monitor-tui"), "--web", "--demo", "2", "--port",
                             str(port), "--data-dir", str(tmp_path / "d")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**ENV, "MONITOR_WEB_TOKEN": token})
    base = f"http://127.0.0.1:{port}"

    def status(path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        req = urllib.request.Request(base + path, headers=headers or {})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=5) as resp:
                return resp.status, resp.headers.get("Set-Cookie", "") + resp.read().decode()
        except urllib.error.HTTPError as exc:
            body = exc.headers.get("Set-Cookie", "") + exc.read().decode()
            exc.close()
            return exc.code, body
        except OSError:
            return 0, ""
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "(this machine only)" in line and token not in line  # a given token is secret
        code, body = wait_for(lambda: (r := status("/"))[0] and r, timeout=30, what="web up")
        assert code == 401 and 'name="token"' in body  # the login form, not the console
        assert status("/ws")[0] == 401
        assert status("/?token=wrong-token-here")[0] == 401
        code, body = status(f"/?token={token}")
        assert code == 303 and "monitor_session=" in body and "HttpOnly" in body
        cookie = body.split(";", 1)[0]
        code, body = status("/", {"Cookie": cookie})
        assert code == 200 and "data-session-websocket-url" in body
        code, _ = status("/ws", {"Cookie": cookie, "Origin": "http://evil.example"})
        assert code == 403
    finally:
        stop_proc(proc)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_web_token_file_errors_are_one_line(tmp_path: Path) -> None:
    short = tmp_path / "tok"
    short.write_text("abc")
    out = run(*command("monitor-tui"), "--web", "--demo", "1", "--port", str(free_port()),
              "--data-dir", str(tmp_path / "d"), "--web-token-file", str(short),
              timeout=60)
    assert out.returncode == 2 and "use at least 8 characters" in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
