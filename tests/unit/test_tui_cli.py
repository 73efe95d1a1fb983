"""monitor-tui's command line: help, one-line errors, unreachable broker."""

from __future__ import annotations

import subprocess
import sys

import pytest
import zmq

from tui import cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True,
                          text=True, timeout=30)


def test_help_lists_the_flags() -> None:
    out = run("--help")
    assert out.returncode == 0
    for flag in ("--broker", "--control", "--publish", "--demo", "--web", "--port",
                 "--data-dir"):
        assert flag in out.stdout


@pytest.mark.parametrize("args, words", [
    (["--nope"], "unrecognized arguments"),
    (["--control", "tcp://127.0.0.1:1"], "--control and --publish go together"),
    (["--demo", "0"], "--demo N"),
    (["--demo", "5", "--broker", "h"], "--demo starts its own broker"),
])
def test_bad_flags_give_one_line_and_exit_2(args: list[str], words: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_unknown_theme_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--theme", "nope", "--broker", "h"]) == 2
    err = capsys.readouterr().err
    assert "--theme 'nope': unknown theme" in err and err.count("\n") == 1


def test_bad_broker_address_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--broker", "host:port"]) == 2
    err = capsys.readouterr().err
    assert "port 'port' is not a number" in err and err.count("\n") == 1


def test_unreachable_broker_fails_in_3_s_with_one_line(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    sock.close(linger=0)
    ctx.term()
    ep = f"tcp://127.0.0.1:{port}"
    assert cli.main(["--control", ep, "--publish", ep]) == 1
    err = capsys.readouterr().err
    assert err == f"monitor-tui: cannot reach broker at {ep} (no reply in 3 s)\n"


def test_web_serves_the_same_brokers_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    import textual_serve.server

    served: dict[str, object] = {}

    class FakeServer:
        def __init__(self, command: str, host: str, port: int, title: str) -> None:
            served.update(command=command, host=host, port=port)

        def serve(self) -> None:
            served["served"] = True

    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    monkeypatch.setattr("tui.sources.live.probe", lambda control, timeout=3.0, curve=None: None)
    assert cli.main(["--web", "--port", "8123", "--broker", "localhost:6000", "--bell"]) == 0
    assert served["host"] == "127.0.0.1" and served["port"] == 8123 and served["served"]
    assert str(served["command"]).endswith("-m tui.cli --broker localhost:6000 --bell")


def test_unresolvable_broker_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--broker", "no-such-host.invalid"]) == 2
    err = capsys.readouterr().err
    assert "cannot resolve host 'no-such-host.invalid'" in err and err.count("\n") == 1
