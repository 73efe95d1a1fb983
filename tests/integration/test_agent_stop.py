"""monitor-agent stops at once on SIGTERM or Ctrl+C (SIGINT), and its goodbye still arrives.

It took 1.6-2.0 s: the fast path's thresholds request sat out its 2 s timeout when the
control endpoint did not answer, and the publisher noticed the stop at its next 0.2 s poll.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration
LIMIT_S = 1.0


def status(b: Broker, name: str) -> str | None:
    return next((h.get("status") for h in b.ask("snapshot")["hosts"] if h["host"] == name),
                None)


def closed_port() -> str:
    """A loopback endpoint where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def timed_stop(agent: subprocess.Popen[Any], sig: signal.Signals) -> float:
    t0 = time.monotonic()
    agent.send_signal(sig)
    agent.wait(timeout=10)
    return time.monotonic() - t0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("control", ["broker", "silent"])
def test_agent_stops_within_a_second_and_says_goodbye(tmp_path: Path, sig: signal.Signals,
                                                       control: str) -> None:
    """``broker``: the fast path asks the broker's own control endpoint; ``silent``: an
    endpoint that never answers (the agent derives one from --ingest that may be wrong),
    so the fast path is waiting for a reply when the signal comes."""
    b = Broker(tmp_path / "data")
    endpoint = b.endpoints["control"] if control == "broker" else closed_port()
    name = f"quick-{control}"
    agent = start_agent(b.endpoints["ingest"], "--host", name, "--interval", "0.2",
                        "--control", endpoint)
    try:
        wait_for(lambda: status(b, name) == "up", 15, "the agent's host up")
        took = timed_stop(agent, sig)
        assert agent.returncode == 0, agent.stderr.read() if agent.stderr else ""
        wait_for(lambda: status(b, name) == "stopped", 5, "the goodbye (host stopped)")
        print(f"{sig.name} with the {control} control endpoint: stopped in {took:.3f} s")
        assert took < LIMIT_S, f"{sig.name}: the agent took {took:.2f} s to stop"
    finally:
        stop_proc(agent)
        b.stop()


def blocked_signals(pid: int, tid: int) -> set[int]:
    """The signals a thread of ``pid`` blocks, from /proc (``SigBlk``: bit n-1 is signal n)."""
    status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("SigBlk:")), 16)
    return {n for n in range(1, 65) if mask >> (n - 1) & 1}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_only_the_main_thread_takes_the_stop_signals(tmp_path: Path) -> None:
    """The kernel hands a process's signal to any thread that does not block it; one of the
    agent's threads taking SIGTERM left the main thread asleep in its 0.5 s wait."""
    b = Broker(tmp_path / "data")
    agent = start_agent(b.endpoints["ingest"], "--host", "masked", "--interval", "0.2",
                        "--control", b.endpoints["control"])
    try:
        wait_for(lambda: status(b, "masked") == "up", 15, "the agent's host up")
        tids = wait_for(lambda: [int(t.name) for t in Path(f"/proc/{agent.pid}/task").iterdir()
                                 if int(t.name) != agent.pid], 5, "the agent's threads")
        stop = {signal.SIGTERM.value, signal.SIGINT.value}
        assert not stop & blocked_signals(agent.pid, agent.pid), "the main thread blocks them"
        unmasked = [tid for tid in tids if not stop <= blocked_signals(agent.pid, tid)]
        assert not unmasked, f"{len(unmasked)} of {len(tids)} threads take SIGTERM/SIGINT"
    finally:
        stop_proc(agent)
        b.stop()
