"""Top processes by CPU and by memory: what is behind a spike.

One psutil pass (``process_iter`` with a fixed, cheap attribute list: pid, CPU times,
memory) every ``every`` seconds (default 5 s: the pass costs about 8 ms of CPU for 73
processes); the details that cost more (name, user, command line, threads) are read only
for the processes that make the top N by CPU or by memory. CPU % is the difference of a
process's CPU times between two passes over the wall time between them, like ``top``
(100 % = one core busy); the baseline pass is taken in the constructor, so the first
sample already has percentages.

Command lines are truncated and arguments that look like secrets are masked
(``--password=x``, ``token=x``, ``-p x`` after a password flag, ``user:pass@`` in URLs),
since they leave the host and are shown to every operator.
"""

from __future__ import annotations

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
# --password x, -p x (the flag alone, value in the next argument)
_SECRET_FLAG = re.compile(r"(?i)^(?:--?[-\w.]*" + _SECRET_WORD + r"[-\w.]*|-p)$")
# scheme://user:password@host
_URL_CRED = re.compile(r"(?i)(\w+://[^/\s:@]+:)([^@\s/]+)(@)")
MASK = "***"


def mask_cmdline(args: Iterable[str], limit: int = MAX_CMD) -> str:
    """A command line as one string with secrets masked, cut to ``limit`` characters."""
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if _SECRET_FLAG.match(arg):
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


class ProcessSampler:
    """``sample(now)`` gives the top ``top`` processes by CPU and by memory as wire rows."""

    def __init__(self, top: int = 10) -> None:
        if not 1 <= top <= protocol.MAX_PROC_TOP:
            raise ValueError(f"top processes {top}: expected 1 to {protocol.MAX_PROC_TOP}")
        self.top = top
        self._prev: dict[int, float] = {}
        self._prev_at = time.monotonic()
        self._cores = psutil.cpu_count() or 1
        self._procs: dict[int, psutil.Process] = {}
        self._pass()

    def _pass(self) -> list[tuple[psutil.Process, float, int]]:
        """(process, cpu seconds, rss) of every process we can read."""
        rows = []
        seen: dict[int, psutil.Process] = {}
        for p in psutil.process_iter(CHEAP_ATTRS, ad_value=None):
            info = p.info
            ct, mi = info.get("cpu_times"), info.get("memory_info")
            if ct is None or mi is None:
                continue
            seen[p.pid] = p
            rows.append((p, ct.user + ct.system, mi.rss))
        self._procs = seen
        return rows

    def sample(self, now: float) -> list[list[Any]]:
        """Wire rows (``protocol.PROCESS_FIELDS``): the union of top-N by CPU and by RSS."""
        rows = self._pass()
        t = time.monotonic()
        elapsed = max(t - self._prev_at, 1e-6)
        prev = self._prev
        scored = []
        cur: dict[int, float] = {}
        for p, cpu_s, rss in rows:
            cur[p.pid] = cpu_s
            before = prev.get(p.pid)
            pct = 0.0 if before is None else max(0.0, (cpu_s - before) / elapsed * 100.0)
            scored.append((p, min(pct, 100.0 * self._cores), rss))
        self._prev, self._prev_at = cur, t
        n = self.top
        by_cpu = sorted(scored, key=lambda r: r[1], reverse=True)[:n]
        by_mem = sorted(scored, key=lambda r: r[2], reverse=True)[:n]
        chosen: dict[int, tuple[psutil.Process, float, int]] = {}
        for r in by_cpu + by_mem:
            chosen.setdefault(r[0].pid, r)
        out = []
        for p, pct, rss in chosen.values():
            row = self._details(p, pct, rss)
            if row is not None:
                out.append(row)
        return out

    @staticmethod
    def _details(p: psutil.Process, pct: float, rss: int) -> list[Any] | None:
        try:
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
                threads = p.num_threads()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        except psutil.AccessDenied:
            return [p.pid, _clean(str(p.pid), 64), "", "", round(pct, 1), int(rss), 0]
        return [p.pid, _clean(name, protocol.MAX_NAME_LEN), _clean(user, 64), cmd,
                round(pct, 1), int(rss), int(threads)]


def measure(n: int = 20, top: int = 10) -> float:
    """Mean CPU milliseconds of one ``sample()`` on this host (docs/agent.md)."""
    s = ProcessSampler(top)
    t0 = time.process_time()
    for _ in range(n):
        s.sample(time.time())
    return (time.process_time() - t0) / n * 1000.0
