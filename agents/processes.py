"""Top processes by CPU and by memory: what is behind a spike.

One pass over every process each ``every`` seconds (default 5 s): on Linux one read of
``/proc/<pid>/stat`` per process (CPU times, RSS, threads, start time: 1.1 ms for ~80
processes), elsewhere psutil's ``process_iter`` with a fixed, cheap attribute list (2.9 ms
here). Name, user and command line are read (through psutil) only for the processes that
make the top N by CPU or by memory, once per process (pid and start time): a reused pid is
a new process. CPU % is the difference of a process's CPU times between two passes over
the wall time between them, like ``top`` (100 % = one core busy); the baseline pass is
taken in the constructor, so the first sample already has percentages.

Command lines are truncated and arguments that look like secrets are masked
(``--password=x``, ``token=x``, the value after a password flag, ``user:pass@`` in URLs),
since they leave the host and are shown to every operator. Short flags mean different things
to different programs (``-p`` is a port to ssh and psql, a flag to mkdir, a password to
mysql), so a short flag hides the next argument only for the programs in
``_SHORT_SECRET_FLAGS``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from typing import Any

import psutil

from core import protocol

CHEAP_ATTRS = ["pid", "cpu_times", "memory_info"]
MAX_CMD = protocol.MAX_PROC_CMD

_SECRET_WORD = r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|access[-_]?key|" \
               r"auth|credentials?|private[-_]?key)"
# --password=x, --api-key=x, PGPASSWORD=x, secret:x, password=x
_SECRET_ASSIGN = re.compile(r"(?i)([-\w.]*" + _SECRET_WORD + r"[-\w.]*[=:])(\S+)")
# --password x (the flag alone, value in the next argument)
_SECRET_FLAG = re.compile(r"(?i)^--?[-\w.]*" + _SECRET_WORD + r"[-\w.]*$")
# Short flags whose next argument is a secret, for the programs where that is so
_SHORT_SECRET_FLAGS = {
    "mysql": {"-p"}, "mysqldump": {"-p"}, "mysqladmin": {"-p"}, "mariadb": {"-p"},
    "mariadb-dump": {"-p"}, "sshpass": {"-p"}, "redis-cli": {"-a"}, "smbclient": {"-U"},
}
# scheme://user:password@host
_URL_CRED = re.compile(r"(?i)(\w+://[^/\s:@]+:)([^@\s/]+)(@)")
MASK = "***"


def mask_cmdline(args: Iterable[str], limit: int = MAX_CMD) -> str:
    """A command line as one string with secrets masked, cut to ``limit`` characters."""
    out: list[str] = []
    hide_next = False
    short: set[str] = set()
    for i, arg in enumerate(args):
        if i == 0:
            short = _SHORT_SECRET_FLAGS.get(os.path.basename(arg), set())
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if _SECRET_FLAG.match(arg) or arg in short:
            hide_next = True
            out.append(arg)
            continue
        arg = _URL_CRED.sub(r"\1" + MASK + r"\3", arg)
        out.append(_SECRET_ASSIGN.sub(r"\1" + MASK, arg))
    text = " ".join(out)
    text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _clean(text: str, limit: int) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text[:limit]


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# (pid, cpu seconds, rss bytes, threads or -1, start key): what one pass reads per process
Row = tuple[int, float, int, int, Any]


def proc_stat_pass(root: str = "/proc") -> list[Row]:
    """Linux: one read of ``/proc/<pid>/stat`` per process (utime, stime, threads, start
    time, rss): a third of the CPU of psutil's ``process_iter`` with the same figures."""
    rows: list[Row] = []
    for name in os.listdir(root):
        if not name.isdigit():
            continue
        try:
            with open(f"{root}/{name}/stat", "rb") as fh:
                data = fh.read()
            f = data[data.rfind(b")") + 2:].split()
            rows.append((int(name), (int(f[11]) + int(f[12])) / _TICK, int(f[21]) * _PAGE,
                         int(f[17]), int(f[19])))
        except (OSError, ValueError, IndexError):  # gone meanwhile, or a kernel thread race
            continue
    return rows


def psutil_pass() -> list[Row]:
    """Elsewhere: psutil's ``process_iter`` with a fixed, cheap attribute list."""
    rows: list[Row] = []
    for p in psutil.process_iter(CHEAP_ATTRS, ad_value=None):
        ct, mi = p.info.get("cpu_times"), p.info.get("memory_info")
        if ct is not None and mi is not None:
            rows.append((p.pid, ct.user + ct.system, mi.rss, -1, None))
    return rows


class ProcessSampler:
    """``sample(now)`` gives the top ``top`` processes by CPU and by memory as wire rows.

    Name, user and command line of a process are read once per process (keyed by pid and
    start time, so a reused pid is a new process) and kept while it lives."""

    def __init__(self, top: int = 10, use_proc: bool | None = None) -> None:
        if not 1 <= top <= protocol.MAX_PROC_TOP:
            raise ValueError(f"top processes {top}: expected 1 to {protocol.MAX_PROC_TOP}")
        self.top = top
        if use_proc is None:
            use_proc = os.path.exists("/proc/self/stat")
        self._pass = proc_stat_pass if use_proc else psutil_pass
        self._prev: dict[int, float] = {}
        self._prev_at = time.monotonic()
        self._cores = psutil.cpu_count() or 1
        self._details: dict[tuple[int, Any], tuple[str, str, str] | None] = {}
        self.sample_cpu_only()

    def sample_cpu_only(self) -> list[Row]:
        rows = self._pass()
        self._prev = {r[0]: r[1] for r in rows}
        self._prev_at = time.monotonic()
        return rows

    def sample(self, now: float) -> list[list[Any]]:
        """Wire rows (``protocol.PROCESS_FIELDS``): the union of top-N by CPU and by RSS."""
        rows = self._pass()
        t = time.monotonic()
        elapsed = max(t - self._prev_at, 1e-6)
        prev, cap = self._prev, 100.0 * self._cores
        scored = []
        for r in rows:
            before = prev.get(r[0])
            pct = 0.0 if before is None else min(cap, max(0.0, (r[1] - before) / elapsed * 100))
            scored.append((pct, r))
        self._prev, self._prev_at = {r[0]: r[1] for r in rows}, t
        n = self.top
        chosen: dict[int, tuple[float, Row]] = {}
        for pct, r in (sorted(scored, key=lambda x: x[0], reverse=True)[:n]
                       + sorted(scored, key=lambda x: x[1][2], reverse=True)[:n]):
            chosen.setdefault(r[0], (pct, r))
        live = {(r[0], r[4]) for r in rows}
        self._details = {k: v for k, v in self._details.items() if k in live}
        out = []
        for pct, (pid, _cpu, rss, threads, start) in chosen.values():
            key = (pid, start)
            if key not in self._details or start is None:
                self._details[key] = self._read_details(pid)
            d = self._details[key]
            if d is None:
                continue
            name, user, cmd = d
            if threads < 0:
                try:
                    threads = psutil.Process(pid).num_threads()
                except psutil.Error:
                    threads = 0
            out.append([pid, name, user, cmd, round(pct, 1), int(rss), int(threads)])
        return out

    @staticmethod
    def _read_details(pid: int) -> tuple[str, str, str] | None:
        """(name, user, masked command line), or None for a process gone meanwhile."""
        try:
            p = psutil.Process(pid)
            with p.oneshot():
                name = p.name()
                try:
                    user = p.username()
                except (psutil.AccessDenied, KeyError):  # KeyError: uid without a name
                    user = ""
                try:
                    cmd = mask_cmdline(p.cmdline())
                except psutil.AccessDenied:
                    cmd = ""
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        except psutil.AccessDenied:
            return str(pid), "", ""
        return _clean(name, protocol.MAX_NAME_LEN), _clean(user, 64), cmd


def measure(n: int = 20, top: int = 10) -> float:
    """Mean CPU milliseconds of one ``sample()`` on this host (docs/agent.md)."""
    s = ProcessSampler(top)
    t0 = time.process_time()
    for _ in range(n):
        s.sample(time.time())
    return (time.process_time() - t0) / n * 1000.0
