"""A fleet of fake hosts for demos, snapshot tests and benchmarks (``--simulate N``).

Each host has a role (web, api, worker, db, cache, lb) with its own baseline; its load moves
slowly (a per-host sine plus a mean-reverting random walk), with occasional short spikes.
Everything comes from ``random.Random(seed)`` consumed in a fixed order, so the same seed,
``start_ts`` and sequence of ``now`` values give the same samples, byte for byte.

With ``incidents=True`` a fixed script repeats every ``INCIDENT_PERIOD_S`` seconds after
``start_ts`` (see ``INCIDENTS``): one host pegs its CPU at ~97 % for a minute, one host's
``/var`` fills up, one host stops reporting for 90 s. Which hosts is drawn from the seed and
the cycle number, so ``incidents(now)`` and ``silent_hosts(now)`` are pure functions of time.
``sample(now)`` leaves silent hosts out; a publisher should also skip their hello frames.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

from agents.simulate_logs import fake_line
from agents.system import agent_version

# role -> cpu base %, mem base %, cores, mem GiB, net bytes/s, disk read/write bytes/s,
#         iowait %, process count, log source
ROLES: dict[str, dict[str, Any]] = {
    "web": dict(cpu=25, mem=45, cores=(2, 4, 8), gib=(4, 8, 16), net=4e6, rd=2e5, wr=8e5,
                iowait=0.5, procs=180, src="/var/log/nginx/error.log"),
    "api": dict(cpu=35, mem=55, cores=(4, 8), gib=(8, 16), net=2e6, rd=3e5, wr=6e5,
                iowait=0.8, procs=210, src="/var/log/app/api.log"),
    "worker": dict(cpu=55, mem=60, cores=(8, 16), gib=(16, 32), net=8e5, rd=1e6, wr=2e6,
                   iowait=2.0, procs=260, src="/var/log/app/worker.log"),
    "db": dict(cpu=40, mem=75, cores=(8, 16, 32), gib=(32, 64, 128), net=6e6, rd=2e7, wr=1.5e7,
               iowait=6.0, procs=150, src="/var/log/postgresql/postgresql-16-main.log"),
    "cache": dict(cpu=15, mem=80, cores=(2, 4), gib=(16, 32), net=1e7, rd=5e4, wr=4e5,
                  iowait=0.3, procs=120, src="journald:redis-server"),
    "lb": dict(cpu=10, mem=30, cores=(2, 4), gib=(2, 4), net=3e7, rd=2e4, wr=1e5,
               iowait=0.2, procs=110, src="/var/log/haproxy.log"),
}
ROLE_PATTERN = ("web", "db", "cache", "worker", "api", "web", "worker", "lb", "worker", "api",
                "web", "worker", "db", "web", "worker", "cache", "api", "worker", "web", "worker")
NAME_WIDTH = {"worker": 3}

INCIDENT_PERIOD_S = 600.0
# kind, start and end (seconds into each cycle)
INCIDENTS = (("cpu", 30.0, 90.0), ("disk", 150.0, 390.0), ("down", 420.0, 510.0))
DISK_FILL_S = 120.0  # the disk incident ramps /var to 99 % over this time, then holds

SPIKE_RATE = 1.0 / 900.0  # spikes per host per second
GIB = 1024.0**3


@dataclass(frozen=True, slots=True)
class Incident:
    kind: str  # "cpu" | "disk" | "down"
    host: str
    start: float
    end: float


class _Host:
    __slots__ = ("name", "role", "p", "cores", "mem_total", "boot", "cpu_base", "mem_base",
                 "period", "phase", "amp", "cpu_walk", "mem_walk", "spike_until", "spike_amp",
                 "load5", "load15", "procs", "disk_root", "disk_var", "net", "tx_ratio",
                 "rd", "wr")

    def __init__(self, name: str, role: str, rng: random.Random, start_ts: float) -> None:
        p = ROLES[role]
        self.name, self.role, self.p = name, role, p
        self.cores = float(rng.choice(p["cores"]))
        self.mem_total = rng.choice(p["gib"]) * GIB
        self.boot = start_ts - rng.uniform(3600.0, 90 * 86400.0)
        self.cpu_base = p["cpu"] * rng.uniform(0.6, 1.3)
        self.mem_base = min(92.0, p["mem"] * rng.uniform(0.8, 1.15))
        self.period = rng.uniform(600.0, 3600.0)
        self.phase = rng.uniform(0.0, 2 * math.pi)
        self.amp = self.cpu_base * rng.uniform(0.15, 0.4)
        self.cpu_walk = self.mem_walk = 0.0
        self.spike_until = -math.inf
        self.spike_amp = 0.0
        self.load5 = self.load15 = self.cores * self.cpu_base / 100.0
        self.procs = p["procs"] * rng.uniform(0.8, 1.3)
        self.disk_root = rng.uniform(25.0, 65.0)
        self.disk_var = rng.uniform(20.0, 70.0)
        self.net = p["net"] * rng.uniform(0.5, 1.5)
        self.tx_ratio = rng.uniform(0.3, 2.5)
        self.rd = p["rd"] * rng.uniform(0.5, 1.5)
        self.wr = p["wr"] * rng.uniform(0.5, 1.5)


def host_names(n: int) -> list[tuple[str, str]]:
    """``(name, role)`` of N hosts: web-01, db-01, cache-01, worker-001, api-01, web-02..."""
    roles = [ROLE_PATTERN[i % len(ROLE_PATTERN)] for i in range(n)]
    totals = {r: roles.count(r) for r in ROLES}
    seen: dict[str, int] = {}
    out = []
    for role in roles:
        seen[role] = seen.get(role, 0) + 1
        width = max(NAME_WIDTH.get(role, 2), len(str(totals[role])))
        out.append((f"{role}-{seen[role]:0{width}d}", role))
    return out


class FleetSimulator:
    """N fake hosts producing the metric names of ``SystemCollector`` (a subset)."""

    def __init__(self, n: int, seed: int = 0, start_ts: float | None = None,
                 incidents: bool = True) -> None:
        if n < 1:
            raise ValueError(f"a fleet needs at least one host, got {n}")
        self.n = n
        self.seed = seed
        self.start_ts = time.time() if start_ts is None else float(start_ts)
        self.incidents_enabled = incidents
        self._rng = random.Random(seed)
        self._log_rng = random.Random(f"logs/{seed}")
        self._hosts = [_Host(name, role, self._rng, self.start_ts) for name, role in host_names(n)]
        self._fleet = self._hosts  # the whole fleet (incidents pick from it), ``keep`` or not
        self._by_name = {h.name: h for h in self._hosts}
        self._last: float | None = None
        self._log_last: float | None = None
        self._cycle_cache: dict[int, tuple[Incident, ...]] = {}

    @property
    def hosts(self) -> list[str]:
        return [h.name for h in self._hosts]

    def keep(self, start: int, stop: int) -> None:
        """Simulate only hosts ``[start, stop)`` of the fleet: one of several processes
        sharing a large fleet (bench/fleet_driver.py); names and parameters stay the fleet's."""
        self._hosts = self._hosts[start:stop]

    # ------------------------------------------------------------------ incidents

    def _cycle(self, k: int) -> tuple[Incident, ...]:
        got = self._cycle_cache.get(k)
        if got is None:
            rng = random.Random(f"incidents/{self.seed}/{k}")
            picks = rng.sample(range(self.n), min(self.n, len(INCIDENTS)))
            base = self.start_ts + k * INCIDENT_PERIOD_S
            got = tuple(
                Incident(kind, self._fleet[picks[i % len(picks)]].name, base + s, base + e)
                for i, (kind, s, e) in enumerate(INCIDENTS)
            )
            if len(self._cycle_cache) > 8:
                self._cycle_cache.clear()
            self._cycle_cache[k] = got
        return got

    def incidents(self, now: float) -> list[Incident]:
        """The scripted incidents active at ``now`` (none when ``incidents=False``)."""
        if not self.incidents_enabled or now < self.start_ts:
            return []
        k = int((now - self.start_ts) // INCIDENT_PERIOD_S)
        return [i for i in self._cycle(k) if i.start <= now < i.end]

    def schedule(self, until: float) -> list[Incident]:
        """Every scripted incident that starts between ``start_ts`` and ``until``."""
        if not self.incidents_enabled:
            return []
        out: list[Incident] = []
        k = 0
        while self.start_ts + k * INCIDENT_PERIOD_S <= until:
            out.extend(i for i in self._cycle(k) if i.start <= until)
            k += 1
        return out

    def silent_hosts(self, now: float) -> set[str]:
        """Hosts that are "down" at ``now``: no metrics, no hello, no logs."""
        return {i.host for i in self.incidents(now) if i.kind == "down"}

    # ------------------------------------------------------------------ metrics

    def sample(self, now: float) -> list[tuple[str, dict[str, float]]]:
        """One ``(host, metrics)`` per reporting host at ``now`` (silent hosts left out)."""
        dt = 1.0 if self._last is None else min(max(now - self._last, 0.0), 300.0)
        self._last = now
        active = self.incidents(now)
        cpu_hit = {i.host for i in active if i.kind == "cpu"}
        disk_hit = {i.host: i for i in active if i.kind == "disk"}
        down = {i.host for i in active if i.kind == "down"}

        r = self._rng.random
        keep = math.exp(-dt / 180.0)  # walks revert to the baseline over a few minutes
        step = math.sqrt(dt)
        a5 = 1.0 - math.exp(-dt / 300.0)
        a15 = 1.0 - math.exp(-dt / 900.0)
        spike_p = SPIKE_RATE * dt
        tau = 2 * math.pi
        sin = math.sin
        out: list[tuple[str, dict[str, float]]] = []
        for h in self._hosts:
            # the random draws happen for every host, down or not, so a host going silent
            # does not shift the others' numbers
            u1, u2, u3, u4, u5, u6 = r(), r(), r(), r(), r(), r()
            h.cpu_walk = h.cpu_walk * keep + (u1 - 0.5) * 6.0 * step
            h.mem_walk = h.mem_walk * keep + (u2 - 0.5) * 1.5 * step
            h.procs = max(40.0, h.procs + (u3 - 0.5) * 4.0 * step)
            if now >= h.spike_until and u4 < spike_p:
                h.spike_until = now + 10.0 + 50.0 * u5
                h.spike_amp = 20.0 + 45.0 * u6
            h.disk_root += dt * 2e-5
            h.disk_var += dt * 1e-4
            if h.disk_var > 88.0:  # logrotate on the fleet
                h.disk_var -= 30.0
            if h.name in down:
                continue

            wave = h.amp * sin(tau * now / h.period + h.phase)
            cpu = h.cpu_base + wave + h.cpu_walk + (u5 - 0.5) * 4.0
            if now < h.spike_until:
                cpu += h.spike_amp
            if h.name in cpu_hit:
                cpu = 96.0 + 2.0 * u6
            cpu = 0.5 if cpu < 0.5 else 99.8 if cpu > 99.8 else cpu
            busy = cpu / 100.0
            iowait = h.p["iowait"] * (0.5 + u3) * (0.5 + busy)
            mem = h.mem_base + h.mem_walk + 5.0 * busy
            mem = 5.0 if mem < 5.0 else 99.0 if mem > 99.0 else mem
            swap = 0.0 if mem < 85.0 else (mem - 85.0) * 3.0
            load1 = h.cores * busy * (0.85 + 0.3 * u2) + iowait / 20.0
            h.load5 += (load1 - h.load5) * a5
            h.load15 += (load1 - h.load15) * a15
            net = h.net * (0.3 + 1.4 * busy) * (0.9 + 0.2 * u1)
            var = h.disk_var
            inc = disk_hit.get(h.name)
            if inc is not None:
                fill = min(1.0, (now - inc.start) / DISK_FILL_S)
                var = max(var, var + (99.0 - var) * fill)
            out.append((h.name, {
                "cpu.percent": cpu,
                "cpu.user": cpu * 0.72,
                "cpu.system": cpu * 0.22,
                "cpu.iowait": iowait,
                "cpu.count": h.cores,
                "mem.percent": mem,
                "mem.used": h.mem_total * mem / 100.0,
                "mem.total": h.mem_total,
                "swap.percent": swap,
                "disk./.percent": min(99.9, h.disk_root),
                "disk./var.percent": min(99.9, var),
                "net.eth0.rx_bps": net,
                "net.eth0.tx_bps": net * h.tx_ratio,
                "net.eth0.errin_ps": (u4 * 40.0) if u4 < 0.01 else 0.0,
                "diskio.sda.read_bps": h.rd * (0.4 + busy) * (0.8 + 0.4 * u3),
                "diskio.sda.write_bps": h.wr * (0.4 + busy) * (0.8 + 0.4 * u5),
                "load.1": load1,
                "load.5": h.load5,
                "load.15": h.load15,
                "proc.count": float(int(h.procs)),
                "uptime": now - h.boot,
            }))
        return out

    def host_info(self, host: str) -> dict[str, Any]:
        """The hello-frame info of a fake host (KeyError for an unknown name)."""
        h = self._by_name[host]
        return {
            "os": "Linux",
            "os_release": "6.1.0-18-amd64",
            "platform": "Linux-6.1.0-18-amd64-x86_64-with-glibc2.36",
            "arch": "x86_64",
            "python": "3.11.2",
            "cores": int(h.cores),
            "mem_total": int(h.mem_total),
            "boot_time": h.boot,
            "agent_version": agent_version(),
            "role": h.role,
            "simulated": True,
        }

    # ------------------------------------------------------------------ logs

    def log_lines(self, now: float) -> list[tuple[str, str, str, str]]:
        """Fake log lines since the previous call: ``(host, level, message, source)``.

        About one line per host every two minutes, plus lines about the scripted incidents.
        Uses its own random stream, so calling it or not does not change ``sample``.
        """
        dt = 1.0 if self._log_last is None else min(max(now - self._log_last, 0.0), 60.0)
        prev = now - dt
        self._log_last = now
        rng = self._log_rng
        silent = self.silent_hosts(now)
        lines: list[tuple[str, str, str, str]] = []
        for inc in self.incidents(now):
            if inc.kind == "down":
                continue
            h = self._by_name[inc.host]
            if prev < inc.start <= now or rng.random() < dt / 15.0:
                lines.append((h.name, *fake_line(rng, h.role, h.p["src"], inc.kind)))
        expected = self.n * dt / 120.0
        count = int(expected) + (1 if rng.random() < expected % 1.0 else 0)
        for _ in range(min(count, 200)):
            h = self._hosts[rng.randrange(self.n)]
            if h.name not in silent:
                lines.append((h.name, *fake_line(rng, h.role, h.p["src"], None)))
        return lines
