"""Optional journald capture on Linux: ``journalctl -f -o json`` in a subprocess.

Nothing imports this module unless the agent is asked to follow the journal;
``JournaldFollower.available()`` says whether ``journalctl`` exists here. A reader thread
parses the JSON lines into a bounded queue; ``poll()`` drains it on the caller's thread and
calls ``emit(source, level, message, ts)`` exactly as ``LogFollower`` does, with the same
per-host rate limit (pass ``limiter=`` to share one budget with a ``LogFollower``).
``source`` is ``journald:<SYSLOG_IDENTIFIER or unit>``, the level comes from ``PRIORITY``,
``ts`` from ``__REALTIME_TIMESTAMP``.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Sequence
from typing import IO, Any

from agents.loglevel import syslog_level
from agents.logs import MAX_MESSAGE_CHARS, Emit
from agents.ratelimit import TokenBucket
from core.clock import SYSTEM, Clock

MAX_QUEUE = 10_000


def parse_entry(entry: dict[str, Any], now: float) -> tuple[str, str, str, float] | None:
    """``(source, level, message, ts)`` of one journal JSON entry, or None if it has none."""
    msg = entry.get("MESSAGE")
    if isinstance(msg, list):  # journalctl gives non-UTF-8 messages as byte arrays
        try:
            msg = bytes(msg).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return None
    if not isinstance(msg, str):
        return None
    name = (entry.get("SYSLOG_IDENTIFIER") or entry.get("_SYSTEMD_UNIT")
            or entry.get("_COMM") or "journal")
    try:
        level = syslog_level(int(entry.get("PRIORITY", 6)))
    except (TypeError, ValueError):
        level = "info"
    try:
        ts = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
    except (KeyError, TypeError, ValueError):
        ts = now
    return f"journald:{name}", level, msg[:MAX_MESSAGE_CHARS], ts


class JournaldFollower:
    """Follows the systemd journal from now on; see the module doc."""

    def __init__(self, emit: Emit, clock: Clock = SYSTEM, rate_limit: float = 100.0,
                 units: Sequence[str] = (), command: Sequence[str] | None = None,
                 limiter: TokenBucket | None = None, priority: str | None = None) -> None:
        self._emit = emit
        self._clock = clock
        self.limiter = limiter or TokenBucket(rate_limit, clock)
        if command is None:
            command = ["journalctl", "-f", "-o", "json", "-n", "0", "--no-pager"]
            for unit in units:
                command += ["-u", unit]
            if priority:  # this priority and more urgent ones: "warning" = 0..4
                command += ["-p", priority]
        self.command = list(command)
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(MAX_QUEUE)
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.overflow = 0
        self.events = 0

    @staticmethod
    def available() -> bool:
        return shutil.which("journalctl") is not None

    def start(self) -> None:
        if self._proc is not None:
            return
        self._proc = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        assert self._proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,),
                                        name="journald-reader", daemon=True)
        self._reader.start()

    def _read(self, stdout: IO[bytes]) -> None:
        for raw in stdout:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            try:
                self._queue.put_nowait(entry)
            except queue.Full:
                self.overflow += 1

    def poll(self) -> None:
        """Emit what journalctl has printed since the last poll (never blocks)."""
        now = self._clock.time()
        while True:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                break
            parsed = parse_entry(entry, now)
            if parsed is None:
                continue
            source, level, message, ts = parsed
            if self.limiter.allow(source):
                self.events += 1
                self._emit(source, level, message, ts)
        for source, n in self.limiter.summaries():
            self._emit(source, "warning",
                       f"dropped {n} lines from {source} (rate limit {self.limiter.rate:g}/s)",
                       now)
        if self._proc is not None and self._proc.poll() is not None and self._queue.empty():
            if self._reader is not None and not self._reader.is_alive():
                raise RuntimeError(f"journalctl exited with status {self._proc.returncode}")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def run(self, stop: threading.Event, interval: float = 0.25) -> None:
        """Start journalctl and ``poll()`` until ``stop`` is set; always ``close()``."""
        try:
            self.start()
            while not stop.is_set():
                self.poll()
                stop.wait(interval)
        finally:
            self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        if proc.stdout is not None:
            proc.stdout.close()
