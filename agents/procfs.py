"""Linux ``/proc/stat`` and ``/proc/meminfo`` read through descriptors kept open.

The fast path reads CPU times and memory ten times a second. psutil opens, reads and parses
the whole files each time; here each file is opened once and re-read with ``pread``, and
only the fields the fast path uses are parsed: about half the CPU of the psutil calls per
sample (measured in a 10 Hz thread: 1.5 ms/s against 3.0 ms/s). ``ProcCounters.open()``
returns None where there is no such file (not Linux), and the caller uses psutil.
"""

from __future__ import annotations

import os

# /proc/stat "cpu" line: user nice system idle iowait irq softirq steal guest guest_nice;
# guest time is already in user/nice, so the total is the first eight (as psutil counts)
USER, NICE, SYSTEM, IDLE, IOWAIT, IRQ, SOFTIRQ, STEAL = range(8)
_MEM_KEYS = (b"MemTotal", b"MemAvailable", b"SwapTotal", b"SwapFree")


class ProcCounters:
    def __init__(self, stat_fd: int, mem_fd: int) -> None:
        self._stat, self._mem = stat_fd, mem_fd

    @classmethod
    def open(cls, root: str = "/proc") -> ProcCounters | None:
        try:
            stat = os.open(f"{root}/stat", os.O_RDONLY)
        except OSError:
            return None
        try:
            mem = os.open(f"{root}/meminfo", os.O_RDONLY)
        except OSError:
            os.close(stat)
            return None
        return cls(stat, mem)

    def cpu(self) -> list[int]:
        """The all-CPU line's first eight fields, in clock ticks."""
        fields = os.pread(self._stat, 512, 0).split(b"\n", 1)[0].split()[1:9]
        return [int(x) for x in fields] + [0] * (8 - len(fields))

    def meminfo(self) -> dict[bytes, int]:
        """MemTotal, MemAvailable, SwapTotal, SwapFree in bytes (those present)."""
        out: dict[bytes, int] = {}
        for line in os.pread(self._mem, 16384, 0).split(b"\n"):
            key, _, rest = line.partition(b":")
            if key in _MEM_KEYS:
                out[key] = int(rest.split()[0]) * 1024
                if len(out) == len(_MEM_KEYS):
                    break
        return out

    def close(self) -> None:
        for fd in (self._stat, self._mem):
            try:
                os.close(fd)
            except OSError:
                pass
