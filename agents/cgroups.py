"""Containers and services from cgroup v2: CPU, memory, I/O per container or systemd unit.

The cgroup v2 hierarchy is found in ``/proc/self/mounts`` (``/sys/fs/cgroup``, or
``/sys/fs/cgroup/unified`` on hybrid hosts). Every cgroup down to ``MAX_DEPTH`` levels that
is a systemd service or scope, a docker/podman container, or holds processes of its own is
reported, at most ``MAX_GROUPS`` of them, as ``cgroup.<name>.<quantity>``:

| quantity | unit | from |
|---|---|---|
| ``cpu_percent`` | % of one core | ``cpu.stat`` ``usage_usec``, difference over the interval |
| ``mem_bytes`` | bytes | ``memory.current`` (when the memory controller is on) |
| ``io_read_bps``, ``io_write_bps`` | bytes/s | ``io.stat`` ``rbytes``/``wbytes`` summed over devices |
| ``procs`` | count | lines of ``cgroup.procs`` |

``<name>`` is the container's name where it can be read locally (docker's
``/var/lib/docker/containers/<id>/config.v2.json``, podman's ``containers.json``), else the
unit name (``nginx.service``), else the cgroup path with ``/`` as ``:``. The list of
cgroups is rescanned every ``RESCAN_S``; a cgroup that vanished is skipped.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from agents.collector import Collector
from agents.rates import Rates

MAX_DEPTH = 4
MAX_GROUPS = 100
RESCAN_S = 30.0
_CONTAINER_ID = re.compile(r"(?:docker-|libpod-|crio-|cri-containerd-)?([0-9a-f]{64})(?:\.scope)?$")
DOCKER_DIR = Path("/var/lib/docker/containers")
PODMAN_DB = (Path("/var/lib/containers/storage/overlay-containers/containers.json"),)


def cgroup2_root(mounts: str = "/proc/self/mounts") -> Path | None:
    try:
        with open(mounts, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == "cgroup2":
                    return Path(parts[1])
    except OSError:
        pass
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeError):
        return None


def _container_names() -> dict[str, str]:
    names: dict[str, str] = {}
    try:
        for d in DOCKER_DIR.iterdir():
            text = _read(d / "config.v2.json")
            if text:
                name = json.loads(text).get("Name", "").lstrip("/")
                if name:
                    names[d.name] = name
    except (OSError, ValueError):
        pass
    for db in PODMAN_DB:
        text = _read(db)
        if not text:
            continue
        try:
            for c in json.loads(text):
                if c.get("id") and c.get("names"):
                    names[c["id"]] = c["names"][0]
        except (ValueError, TypeError, AttributeError):
            pass
    return names


class CgroupCollector(Collector):
    name = "cgroups"

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cgroup2_root()
        self._rates = Rates()
        self._groups: list[tuple[str, Path]] = []
        self._scanned = -RESCAN_S

    def scan(self) -> list[tuple[str, Path]]:
        """(metric name part, directory) of the cgroups worth reporting."""
        if self.root is None or not self.root.is_dir():
            return []
        names = _container_names()
        found: list[tuple[str, Path]] = []
        base = len(self.root.parts)
        for dirpath, dirnames, _files in os.walk(self.root):
            d = Path(dirpath)
            depth = len(d.parts) - base
            if depth >= MAX_DEPTH:
                dirnames[:] = []
            if depth == 0:
                continue
            leaf = d.name
            m = _CONTAINER_ID.match(leaf)
            own = (_read(d / "cgroup.procs") or "").strip()
            if m:
                found.append((_safe(names.get(m.group(1), m.group(1)[:12])), d))
            elif leaf.endswith((".service", ".scope")) or own:
                found.append((_safe(leaf if leaf.endswith((".service", ".scope"))
                                    else str(d.relative_to(self.root)).replace("/", ":")), d))
            if len(found) >= MAX_GROUPS:
                break
        return found

    def collect(self, now: float) -> dict[str, float]:
        if now - self._scanned >= RESCAN_S or now < self._scanned:
            self._groups = self.scan()
            self._scanned = now
        out: dict[str, float] = {}
        for name, d in self._groups:
            p = f"cgroup.{name}."
            stat = _read(d / "cpu.stat")
            if stat is None:
                continue  # gone since the scan
            for line in stat.splitlines():
                k, _, v = line.partition(" ")
                if k == "usage_usec":
                    rate = self._rates.rate(p + "cpu", float(v), now)
                    if rate is not None:
                        out[p + "cpu_percent"] = rate / 1e6 * 100.0
            mem = _read(d / "memory.current")
            if mem and mem.strip().isdigit():
                out[p + "mem_bytes"] = float(mem)
            io = _read(d / "io.stat")
            if io is not None:
                rb = wb = 0.0
                for line in io.splitlines():
                    for field in line.split()[1:]:
                        k, _, v = field.partition("=")
                        if k == "rbytes":
                            rb += float(v)
                        elif k == "wbytes":
                            wb += float(v)
                self._rates.put(out, p + "io_read_bps", rb, now)
                self._rates.put(out, p + "io_write_bps", wb, now)
            procs = _read(d / "cgroup.procs")
            if procs is not None:
                out[p + "procs"] = float(len(procs.split()))
        self._rates.prune(now - 600.0)
        return out


def _safe(name: str) -> str:
    return "_".join(name.split())[:100]
