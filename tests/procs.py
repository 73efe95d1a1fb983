"""Start the real monitor-* processes for integration tests, and poll with deadlines."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def wait_for(pred: Callable[[], T], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll ``pred`` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.02)  # poll
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def command(name: str) -> list[str]:
    exe = BIN / name
    if exe.exists():
        return [str(exe)]
    module = {"monitor-broker": "broker.cli", "monitor-agent": "agents.cli",
              "monitor-ctl": "ctl.main", "monitor-tui": "tui.cli"}[name]
    return [sys.executable, "-m", module]


class Broker:
    """A real monitor-broker process on ephemeral loopback ports."""

    def __init__(self, data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        args = [*command("monitor-broker"), "--ingest", "tcp://127.0.0.1:*",
                "--publish", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*",
                "--data-dir", str(data_dir), *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env={**ENV, **(env or {})})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.search(r"ingest=(\S+) publish=(\S+) control=(\S+)", line)
        if not m:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=5)
            raise AssertionError(f"broker did not start: {line!r} {err}")
        self.endpoints = dict(zip(("ingest", "publish", "control"), m.groups(), strict=True))

    def ctl(self, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command("monitor-ctl"), "--control", self.endpoints["control"],
                               *args], capture_output=True, text=True, timeout=timeout, env=ENV)

    def ctl_json(self, *args: str) -> Any:
        out = self.ctl("--json", *args)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def ask(self, op: str, **args: Any) -> Any:
        """One control request from this process: for polls, where starting a monitor-ctl
        per look costs most of a second on a busy machine."""
        from core.client import ControlClient

        with ControlClient(self.endpoints["control"], timeout=10) as client:
            return client.request(op, **args)

    def stop(self) -> None:
        stop_proc(self.proc)


def start_brokers(*specs: tuple[Any, ...]) -> list[Broker]:
    """Several independent brokers (each spec: Broker's arguments), started side by side:
    each start is mostly waiting for the child's first line."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(specs)) as pool:
        futures = [pool.submit(Broker, *spec) for spec in specs]
    started = [f.result() for f in futures if f.exception() is None]
    if len(started) < len(specs):
        stop_all(*started)
        next(f.result() for f in futures if f.exception() is not None)  # raises its error
    return started


def stop_all(*things: Broker | subprocess.Popen[str]) -> None:
    """Stop several processes at once: SIGTERM to all, then wait for each (a clean stop
    takes a few hundred ms; one after another they add up)."""
    procs = [t.proc if isinstance(t, Broker) else t for t in things]
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        stop_proc(proc)


def start_agent(ingest: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*command("monitor-agent"), "--ingest", ingest, *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=ENV)


def stop_proc(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()
