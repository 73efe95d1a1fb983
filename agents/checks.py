"""Nagios / Monitoring-Plugins checks: run a command, read its exit code and output.

One check per ``[[agent.check]]`` table, each on its own supervised thread: ``name``,
``command`` (a list of arguments, or a string split like a shell would, never run through
a shell), ``interval`` (default 60 s) and ``timeout`` (default 10 s).

Exit codes 0-3 are OK, WARNING, CRITICAL, UNKNOWN; anything else (a crash, a missing
program) is UNKNOWN. The first line of output is the summary; perfdata after ``|`` (on the
first line and on later lines, the plugin guidelines' long-output form) are
``'label'=value[UOM];[warn];[crit];[min];[max]`` items. Metrics per run:
``check.<name>.state`` (0-3), ``check.<name>.duration_s`` and ``check.<name>.<label>`` for
each perfdata value, in base units (``s``, ``ms``, ``us`` become seconds; ``KB``, ``MB``,
``GB``, ``TB`` bytes; ``%`` and ``c`` stay). A state change is an event with the summary.
A check still running at its timeout is killed (its whole process group) and is UNKNOWN.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
EVENT_LEVEL = {0: "info", 1: "warning", 2: "error", 3: "warning"}
UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "b": 1.0, "kb": 1024.0, "mb": 1024.0**2,
         "gb": 1024.0**3, "tb": 1024.0**4, "%": 1.0, "c": 1.0, "": 1.0}
_PERF = re.compile(r"""('(?:[^']|'')+'|[^'=\s]+)=(-?[\d.]+(?:[eE][-+]?\d+)?)([a-zA-Z%]*)"""
                   r"""(?:;[^\s]*)?""")
MAX_OUTPUT = 64 * 1024


@dataclass
class Check:
    name: str
    command: list[str]
    interval: float = 60.0
    timeout: float = 10.0


@dataclass
class Result:
    state: int
    summary: str
    perf: dict[str, float]
    duration: float


def split_command(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def parse_perfdata(text: str) -> dict[str, float]:
    """``label=value[UOM];warn;crit;min;max`` items -> {label: value in base units}."""
    out: dict[str, float] = {}
    for m in _PERF.finditer(text):
        label, value, unit = m.groups()
        if label.startswith("'"):
            label = label[1:-1].replace("''", "'")
        label = "_".join(label.split())
        factor = UNITS.get(unit.lower())
        try:
            v = float(value)
        except ValueError:
            continue
        if factor is None or not label:
            continue
        out[label] = v * factor
    return out


def parse_output(text: str) -> tuple[str, dict[str, float]]:
    """(summary, perfdata) from a plugin's standard output."""
    lines = text.splitlines() or [""]
    first, _, perf = lines[0].partition("|")
    perf_text = [perf]
    for line in lines[1:]:
        if "|" in line:
            perf_text.append(line.partition("|")[2])
    return first.strip(), parse_perfdata(" ".join(perf_text))


def run_check(check: Check) -> Result:
    """Run once, killing the process group at the timeout; never raises."""
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(check.command, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError as exc:
        return Result(3, f"cannot run {check.command[0]}: {exc.strerror or exc}", {},
                      time.monotonic() - t0)
    try:
        out, _ = proc.communicate(timeout=check.timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.communicate()
        return Result(3, f"timed out after {check.timeout:g}s (killed)", {},
                      time.monotonic() - t0)
    text = out[:MAX_OUTPUT].decode("utf-8", "replace")
    summary, perf = parse_output(text)
    state = proc.returncode if proc.returncode in (0, 1, 2, 3) else 3
    if proc.returncode not in (0, 1, 2, 3):
        summary = f"exit code {proc.returncode}: {summary}"
    return Result(state, summary or STATES[state], perf, time.monotonic() - t0)


class CheckRunner:
    """The agent child for one check."""

    def __init__(self, check: Check, publish: Callable[[dict[str, float]], None],
                 event: Callable[[str, str, str], None]) -> None:
        self.check = check
        self.publish, self.event = publish, event
        self.state: int | None = None
        self.runs = 0

    def run_once(self) -> dict[str, float]:
        c = self.check
        r = run_check(c)
        self.runs += 1
        if r.state != self.state:
            self.event(EVENT_LEVEL[r.state], f"check {c.name} {STATES[r.state]}: {r.summary}",
                       f"check:{c.name}")
            self.state = r.state
        p = f"check.{c.name}."
        metrics = {p + "state": float(r.state), p + "duration_s": r.duration}
        for label, v in r.perf.items():
            name = p + label
            if len(name) <= 200 and name.isprintable():
                metrics[name] = v
        return metrics

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            self.publish(self.run_once())
            stop.wait(max(0.0, self.check.interval - (time.monotonic() - started)))
