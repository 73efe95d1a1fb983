"""The agent's fast path: watch the broker's thresholds at 10 Hz, publish at once on a crossing.

The broker tells each agent the levels of the rules that apply to it (the ``thresholds``
control op: window-less ``threshold`` rules, see broker/alerting/fastpath.py). This loop
samples the cheap counters those rules read (CPU times, memory, load, network and disk
counters: tens of microseconds each) ``rate`` times a second, and when a watched value
moves past one of its levels, in either direction, and stays there for two samples, it
publishes a metrics frame (marked
``fast``) with the watched values at once. The regular frame keeps its interval; the
broker still decides (hysteresis, ``for``, silences): the agent only sends earlier.

CPU percentages here are over the last fast period (100 ms at 10 Hz); network and disk
rates over the last second, like the regular ones. Thresholds are fetched at start,
re-fetched every ``refresh`` seconds (a broker reload reaches agents within that time)
and retried every 2 s while the broker cannot be reached.
"""

from __future__ import annotations

import fnmatch
import logging
import operator
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import psutil

log = logging.getLogger(__name__)

MAX_FAST_FRAMES_PER_S = 5
CONFIRM = 2  # samples a new level must hold before it is sent
RATE_WINDOW_S = 1.0
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
GROUPS = ("cpu", "mem", "swap", "load", "net", "diskio")


class FastSampler:
    """Cheap counters as metric names of the system collector (a subset of them). On Linux
    CPU and memory come from agents/procfs.py (descriptors kept open), elsewhere psutil."""

    def __init__(self, use_procfs: bool = True) -> None:
        from agents.procfs import ProcCounters

        self._proc = ProcCounters.open() if use_procfs else None
        self._cpu_prev = self._cpu_now()
        self._counters: deque[tuple[float, dict[str, float]]] = deque()
        self.cores = float(psutil.cpu_count() or 1)

    def sample(self, groups: set[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        if "cpu" in groups:
            self._cpu(out)
        if "mem" in groups or "swap" in groups:
            self._memory(out, groups)
        if "load" in groups:
            out["load.1"], out["load.5"], out["load.15"] = psutil.getloadavg()
        if "net" in groups or "diskio" in groups:
            self._rates(out, groups)
        return out

    def names(self) -> list[str]:
        """Every name ``sample`` can give here (rates included, before they have a value)."""
        out = set(self.sample(set(GROUPS)))
        out |= {"cpu.percent"} | {f"cpu.{f}" for f in self._cpu_prev[2]}  # no delta yet
        return sorted(out | set(self._counters[-1][1] if self._counters else ()))

    def close(self) -> None:
        if self._proc is not None:
            self._proc.close()

    def _memory(self, out: dict[str, float], groups: set[str]) -> None:
        if self._proc is None:
            if "mem" in groups:
                vm = psutil.virtual_memory()
                out.update({"mem.percent": vm.percent, "mem.used": float(vm.used),
                            "mem.available": float(vm.available)})
            if "swap" in groups:
                sw = psutil.swap_memory()
                out.update({"swap.percent": sw.percent, "swap.used": float(sw.used)})
            return
        m = self._proc.meminfo()  # mem.used/swap.used: psutil's own arithmetic, not here
        total, avail = m.get(b"MemTotal", 0), m.get(b"MemAvailable")
        if "mem" in groups and total and avail is not None:
            out["mem.percent"] = 100.0 * (total - avail) / total  # psutil's formula
            out["mem.available"] = float(avail)
        stotal, sfree = m.get(b"SwapTotal", 0), m.get(b"SwapFree", 0)
        if "swap" in groups:
            out["swap.percent"] = 100.0 * (stotal - sfree) / stotal if stotal else 0.0

    def _cpu_now(self) -> tuple[float, float, dict[str, float]]:
        """(total, idle incl. iowait, {user, system, iowait, steal}) since boot."""
        if self._proc is not None:
            from agents import procfs as P

            t = self._proc.cpu()
            return (float(sum(t)), float(t[P.IDLE] + t[P.IOWAIT]),
                    {"user": t[P.USER], "system": t[P.SYSTEM], "iowait": t[P.IOWAIT],
                     "steal": t[P.STEAL]})
        c = psutil.cpu_times()
        return (_total(c), c.idle + getattr(c, "iowait", 0.0),
                {f: getattr(c, f) for f in ("user", "system", "iowait", "steal")
                 if hasattr(c, f)})

    def _cpu(self, out: dict[str, float]) -> None:
        cur, prev = self._cpu_now(), self._cpu_prev
        total = cur[0] - prev[0]
        if total <= 0:
            return
        self._cpu_prev = cur
        busy = total - (cur[1] - prev[1])
        out["cpu.percent"] = min(100.0, max(0.0, 100.0 * busy / total))
        for f, v in cur[2].items():
            out[f"cpu.{f}"] = min(100.0, max(0.0, 100.0 * (v - prev[2].get(f, 0.0)) / total))

    def _rates(self, out: dict[str, float], groups: set[str]) -> None:
        now = time.monotonic()
        counters: dict[str, float] = {}
        if "net" in groups:
            for nic, c in (psutil.net_io_counters(pernic=True) or {}).items():
                counters[f"net.{nic}.rx_bps"] = c.bytes_recv
                counters[f"net.{nic}.tx_bps"] = c.bytes_sent
        if "diskio" in groups:
            for dev, d in (psutil.disk_io_counters(perdisk=True) or {}).items():
                counters[f"diskio.{dev}.read_bps"] = d.read_bytes
                counters[f"diskio.{dev}.write_bps"] = d.write_bytes
        window = self._counters
        window.append((now, counters))
        while len(window) > 2 and now - window[1][0] >= RATE_WINDOW_S:
            window.popleft()
        t0, old = window[0]
        if now - t0 <= 0:
            return
        for name, v in counters.items():
            if name in old and v >= old[name]:
                out[name] = (v - old[name]) / (now - t0)


def _total(t: Any) -> float:
    return sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class Watch:
    """One metric name against one rule's levels; ``level`` is how many levels it passed.

    A new level counts once it has held for ``CONFIRM`` samples in a row (200 ms at 10 Hz):
    a 100 ms CPU reading is noisy, and one busy tick of a neighbour must not page anyone
    through a rule without ``for``.
    """

    __slots__ = ("name", "rule", "op", "levels", "per_core", "level", "_next", "_seen")

    def __init__(self, name: str, t: dict[str, Any]) -> None:
        self.name, self.rule = name, t["rule"]
        self.op = _OPS[t["op"]]
        self.levels = [float(x) for x in t["levels"]]
        self.per_core = bool(t.get("per_core"))
        self.level: int | None = None
        self._next: int | None = None  # a new level seen, not yet confirmed
        self._seen = 0

    def crossed(self, value: float, cores: float) -> bool:
        v = value / cores if self.per_core else value
        lvl = sum(1 for x in self.levels if self.op(v, x))
        if self.level is None:
            self.level = lvl  # the baseline
            return False
        if lvl == self.level:
            self._next, self._seen = None, 0
            return False
        if lvl != self._next:
            self._next, self._seen = lvl, 0
        self._seen += 1
        if self._seen < CONFIRM:
            return False
        self.level, self._next, self._seen = lvl, None, 0
        return True


def watches_for(thresholds: list[dict[str, Any]], names: list[str]) -> list[Watch]:
    """The (metric name, rule) pairs to watch among the names the sampler can give."""
    out = []
    for t in thresholds:
        if t.get("op") not in _OPS or not t.get("levels"):
            continue
        for name in names:
            if fnmatch.fnmatchcase(name, t["metric"]):
                out.append(Watch(name, t))
    return out


class FastPath:
    """The agent child that runs the fast path (see the module doc)."""

    def __init__(self, control: str, host: str, labels: dict[str, str],
                 publish: Callable[[dict[str, float]], None], *, rate: float = 10.0,
                 refresh: float = 15.0, curve: Any = None) -> None:
        self.control, self.host, self.labels = control, host, labels
        self.publish = publish
        self.period = 1.0 / rate
        self.refresh = refresh
        self.curve = curve
        self.watches: list[Watch] = []
        self.generation = -1
        self.sent = 0
        self.crossings = 0

    def fetch(self, client: Any, sampler: FastSampler) -> None:
        reply = client.request("thresholds", host=self.host, labels=self.labels)
        if reply["generation"] == self.generation and self.watches:
            return
        names = sampler.names()
        self.watches = watches_for(reply["thresholds"], names)
        self.generation = reply["generation"]
        log.info("fast path: watching %d value(s) of %d rule(s) at %.0f Hz",
                 len(self.watches), len(reply["thresholds"]), 1 / self.period)

    def run(self, stop: threading.Event) -> None:
        from core.client import ControlClient

        sampler = FastSampler()
        next_fetch = 0.0
        budget: deque[float] = deque()
        # stop ends a request waiting for its reply within 50 ms: the agent's stop took the
        # rest of the 2 s timeout when the control endpoint did not answer
        with ControlClient(self.control, timeout=2.0, curve=self.curve, stop=stop) as client:
            try:
                self._loop(stop, client, sampler, budget, next_fetch)
            finally:
                sampler.close()

    def _loop(self, stop: threading.Event, client: Any, sampler: FastSampler,
              budget: deque[float], next_fetch: float) -> None:
        from core.client import BrokerTimeout, ControlError

        next_at = time.monotonic()
        while not stop.is_set():
            t = time.monotonic()
            if t >= next_fetch:
                try:
                    self.fetch(client, sampler)
                    next_fetch = t + self.refresh
                except (BrokerTimeout, ControlError, KeyError, TypeError) as exc:
                    log.debug("fast path: thresholds not available: %s", exc)
                    next_fetch = t + 2.0
            if self.watches:
                self.step(sampler, budget)
            next_at += self.period
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at, delay = time.monotonic(), 0.0
            # a plain sleep wakes for less CPU than Event.wait (no Condition per call);
            # stop is seen within one period
            if delay <= self.period:
                time.sleep(delay)
            else:
                stop.wait(delay)

    def step(self, sampler: FastSampler, budget: deque[float]) -> bool:
        """One fast sample; publishes and returns True when a watched value crossed."""
        groups = {w.name.split(".", 1)[0] for w in self.watches}
        values = sampler.sample(groups)
        crossed = False
        for w in self.watches:
            v = values.get(w.name)
            if v is not None and w.crossed(v, sampler.cores):
                crossed = True
        if not crossed:
            return False
        self.crossings += 1
        now = time.monotonic()
        while budget and now - budget[0] >= 1.0:
            budget.popleft()
        if len(budget) >= MAX_FAST_FRAMES_PER_S:
            return False  # a value dancing on a level: the regular frame will tell
        budget.append(now)
        self.publish({w.name: values[w.name] for w in self.watches if w.name in values})
        self.sent += 1
        return True
