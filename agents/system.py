"""The host's own metrics through psutil: CPU, memory, swap, disks, disk I/O, network, load.

One ``collect(now)`` reads each psutil source once (a few milliseconds on Linux, see
docs/agent.md for the measured cost) and never blocks: CPU percentages are computed from the
difference of ``cpu_times`` between two calls (the first baseline is taken in ``__init__``),
so no ``interval`` sleep and no shared psutil module state. Counters become per-second rates
through ``agents.rates.Rates``; the first ``collect`` therefore has no I/O or network rates.

Every section is read on its own: a platform that lacks one (``iowait`` on macOS, swap in
some containers, load average on old Windows) loses those metrics, never the others.
"""

from __future__ import annotations

import fnmatch
import logging
import math
import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import psutil

from agents.collector import Collector
from agents.rates import Rates

log = logging.getLogger(__name__)

# Pseudo, in-memory, image and network filesystems (a dead NFS server would hang statvfs):
# not disks. [agent.filesystems] ignore_fstypes replaces the list.
PSEUDO_FSTYPES = (
    "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "cgroup", "cgroup2", "pstore",
    "bpf", "tracefs", "debugfs", "securityfs", "configfs", "fusectl", "mqueue", "hugetlbfs",
    "autofs", "binfmt_misc", "rpc_pipefs", "nsfs", "efivarfs", "selinuxfs", "overlay",
    "squashfs", "iso9660", "udf", "nfs", "nfs4", "cifs", "smb3", "9p", "fuse.*", "nfsd",
    "devfs", "map", "none")
IGNORE_MOUNTS = ("/snap/*", "/proc/*", "/sys/*", "/dev/*", "/run/*", "/var/lib/docker/*",
                 "/var/lib/containers/*")
SKIP_DISKIO_PREFIXES = ("loop", "ram", "zram", "fd")
CPU_FIELDS = ("user", "system", "iowait", "steal")
PARTITION_REFRESH_S = 60.0
RATE_MEMORY_S = 600.0
MIN_CPU_WINDOW_S = 0.05  # CPU seconds (all CPUs) between samples before percentages count


def agent_version() -> str:
    try:
        return version("monitor")
    except PackageNotFoundError:
        return "0.1.0"


def _cpu_total(times: Any) -> float:
    total = sum(times)
    # On Linux guest time is already counted in user/nice (psutil does the same).
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return total


def _cpu_busy(times: Any) -> float:
    return _cpu_total(times) - times.idle - getattr(times, "iowait", 0.0)


def _mount_name(mountpoint: str) -> str:
    """``/`` stays ``/``; Windows ``C:\\`` becomes ``C:``; white space becomes ``_``."""
    if len(mountpoint) > 1:
        mountpoint = mountpoint.rstrip("/\\")
    return _name_part(mountpoint)


def _name_part(text: str) -> str:
    """A mount or interface name as a metric-name part: rules cannot name white space
    (``/media/My Disk``, Windows' ``Ethernet 2``), so it becomes ``_``."""
    return "_".join(text.split()) if any(c.isspace() for c in text) else text


def real_mounts(ignore_fstypes: tuple[str, ...] = PSEUDO_FSTYPES,
                ignore_mounts: tuple[str, ...] = IGNORE_MOUNTS) -> list[str]:
    """Mount points worth a disk gauge: every mounted filesystem but pseudo and network
    ones (``ignore_fstypes``, globs on the type) and ``ignore_mounts`` (globs on the mount
    point), loop devices and CD-ROMs, with one mount per device."""
    seen_devices: set[str] = set()
    mounts: list[str] = []
    try:
        parts = psutil.disk_partitions(all=True)
    except OSError:
        return mounts
    for p in sorted(parts, key=lambda p: len(p.mountpoint)):
        fstype = p.fstype.lower()
        if not fstype or any(fnmatch.fnmatchcase(fstype, g) for g in ignore_fstypes):
            continue
        if p.device.startswith("/dev/loop") or "cdrom" in p.opts:
            continue
        if any(fnmatch.fnmatchcase(p.mountpoint, g) for g in ignore_mounts):
            continue
        if p.device in seen_devices:  # bind mounts and container overlays of the same disk
            continue
        seen_devices.add(p.device)
        mounts.append(p.mountpoint)
    return mounts


def _whole_disks(names: list[str]) -> set[str]:
    """Disk I/O devices to report: no loop/ram devices, no partitions of a listed disk."""
    keep = {n for n in names if not n.startswith(SKIP_DISKIO_PREFIXES)}
    partitions = set()
    for n in keep:
        for parent in keep:
            if n != parent and n.startswith(parent) and (
                n[len(parent):].isdigit() or n[len(parent):].lstrip("p").isdigit()
            ):
                partitions.add(n)
                break
    return keep - partitions


class SystemCollector(Collector):
    """psutil metrics of this host; see docs/agent.md for every name and unit."""

    name = "system"

    def __init__(self, ignore_fstypes: tuple[str, ...] = PSEUDO_FSTYPES,
                 ignore_mounts: tuple[str, ...] = IGNORE_MOUNTS) -> None:
        self.ignore = (ignore_fstypes, ignore_mounts)
        self._rates = Rates()
        self._cpu_prev = self._cpu_times()
        self._boot = psutil.boot_time()
        self._cpu_count = float(psutil.cpu_count() or len(self._cpu_prev or ()) or 1)
        self._mounts: list[str] = []
        self._mounts_at = -math.inf
        self._disk_names: frozenset[str] = frozenset()
        self._disks: set[str] = set()

    # ------------------------------------------------------------------ public

    def collect(self, now: float) -> dict[str, float]:
        out: dict[str, float] = {}
        for section in (self._cpu, self._memory, self._disk_usage, self._disk_io,
                        self._network, self._misc):
            try:
                section(out, now)
            except (OSError, RuntimeError, AttributeError, NotImplementedError) as exc:
                log.debug("system collector: %s failed: %s", section.__name__, exc)
        self._rates.prune(now - RATE_MEMORY_S)
        return {k: float(v) for k, v in out.items() if math.isfinite(v)}

    @staticmethod
    def host_info() -> dict[str, Any]:
        """What the hello frame says about this host."""
        return {
            "os": platform.system(),
            "os_release": platform.release(),
            "platform": platform.platform(),
            "arch": platform.machine(),
            "python": platform.python_version(),
            "cores": psutil.cpu_count() or 1,
            "mem_total": psutil.virtual_memory().total,
            "boot_time": psutil.boot_time(),
            "agent_version": agent_version(),
        }

    # ------------------------------------------------------------------ sections

    @staticmethod
    def _cpu_times() -> list[Any] | None:
        try:
            return psutil.cpu_times(percpu=True)
        except (OSError, RuntimeError, NotImplementedError):
            return None

    def _cpu(self, out: dict[str, float], now: float) -> None:
        out["cpu.count"] = self._cpu_count
        cur = self._cpu_times()
        prev = self._cpu_prev
        if not cur or not prev or len(cur) != len(prev):
            self._cpu_prev = cur
            return  # first sample, or CPUs went on/offline: wait for the next one
        if sum(map(_cpu_total, cur)) - sum(map(_cpu_total, prev)) < MIN_CPU_WINDOW_S:
            return  # too soon after the baseline for 10 ms ticks to mean anything: keep it
        self._cpu_prev = cur
        sums = {f: 0.0 for f in CPU_FIELDS}
        total_all = busy_all = 0.0
        for i, (a, b) in enumerate(zip(prev, cur, strict=True)):
            total = _cpu_total(b) - _cpu_total(a)
            busy = _cpu_busy(b) - _cpu_busy(a)
            total_all += total
            busy_all += busy
            if total > 0:
                out[f"cpu.{i}.percent"] = _clamp(100.0 * busy / total)
            for f in CPU_FIELDS:
                if hasattr(b, f):
                    sums[f] += getattr(b, f) - getattr(a, f)
        if total_all <= 0:
            return
        out["cpu.percent"] = _clamp(100.0 * busy_all / total_all)
        for f in CPU_FIELDS:
            if hasattr(cur[0], f):
                out[f"cpu.{f}"] = _clamp(100.0 * sums[f] / total_all)

    @staticmethod
    def _memory(out: dict[str, float], now: float) -> None:
        vm = psutil.virtual_memory()
        out["mem.percent"] = vm.percent
        out["mem.used"] = vm.used
        out["mem.total"] = vm.total
        out["mem.available"] = vm.available
        sw = psutil.swap_memory()
        out["swap.percent"] = sw.percent
        out["swap.used"] = sw.used

    def _disk_usage(self, out: dict[str, float], now: float) -> None:
        if now - self._mounts_at >= PARTITION_REFRESH_S or now < self._mounts_at:
            self._mounts = real_mounts(*self.ignore)
            self._mounts_at = now
        for mount in self._mounts:
            try:
                du = psutil.disk_usage(mount)
            except OSError:  # unreadable, unmounted since the last refresh, empty drive
                continue
            name = _mount_name(mount)
            out[f"disk.{name}.percent"] = du.percent
            out[f"disk.{name}.used"] = du.used
            out[f"disk.{name}.total"] = du.total
            try:
                st = os.statvfs(mount)
            except (OSError, AttributeError):  # AttributeError: Windows has no statvfs
                continue
            if st.f_files:
                out[f"disk.{name}.inodes_percent"] = 100.0 * (st.f_files - st.f_ffree) / st.f_files

    def _disk_io(self, out: dict[str, float], now: float) -> None:
        counters = psutil.disk_io_counters(perdisk=True) or {}
        names = frozenset(counters)
        if names != self._disk_names:  # a disk appeared or vanished: re-derive the list
            self._disk_names = names
            self._disks = _whole_disks(list(names))
        put = self._rates.put
        for dev in self._disks:
            c = counters.get(dev)
            if c is None:
                continue
            p = f"diskio.{_name_part(dev)}."
            put(out, p + "read_bps", c.read_bytes, now)
            put(out, p + "write_bps", c.write_bytes, now)
            put(out, p + "read_iops", c.read_count, now)
            put(out, p + "write_iops", c.write_count, now)

    def _network(self, out: dict[str, float], now: float) -> None:
        put = self._rates.put
        for nic, c in (psutil.net_io_counters(pernic=True) or {}).items():
            p = f"net.{_name_part(nic)}."
            put(out, p + "rx_bps", c.bytes_recv, now)
            put(out, p + "tx_bps", c.bytes_sent, now)
            put(out, p + "rx_pps", c.packets_recv, now)
            put(out, p + "tx_pps", c.packets_sent, now)
            put(out, p + "errin_ps", c.errin, now)
            put(out, p + "errout_ps", c.errout, now)
            put(out, p + "dropin_ps", c.dropin, now)

    def _misc(self, out: dict[str, float], now: float) -> None:
        out["uptime"] = max(0.0, now - self._boot)
        try:
            l1, l5, l15 = psutil.getloadavg()
            out["load.1"], out["load.5"], out["load.15"] = l1, l5, l15
        except (OSError, AttributeError):
            pass
        out["proc.count"] = len(psutil.pids())


def _clamp(pct: float) -> float:
    return min(100.0, max(0.0, pct))


def measure(n: int = 50) -> float:
    """Mean cost of one collect() in milliseconds on this host (docs/agent.md)."""
    c = SystemCollector()
    c.collect(time.time())
    t0 = time.perf_counter()
    for _ in range(n):
        c.collect(time.time())
    return (time.perf_counter() - t0) / n * 1000.0
