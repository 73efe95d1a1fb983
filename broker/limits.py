"""The broker's caps, from the ``[broker]`` config section, and what each costs in memory.

Measured (``python -m bench.bench_memory``, docs/internals.md "Memory: bytes per host and
per series"): one series (a host's metric) of a real agent's mix costs about 1.5 KB once
its buffers are full (the latest value, the sparkline history of the series a dashboard
draws, the alert engine's series, the rollup buckets; 2.4 KB before issue 17). The
defaults keep a full broker near 1.5 GB: 1,000,000 series x 1.5 KB, plus about 8 KB per
host and 300 B per probation entry.
They admit a fleet of 10,000 real agents joining at once (``monitor-agent`` on a 2-core VM
sends 55 series: 550,000) with room to spare (``tests/unit/test_host_caps.py``). Raise
``max_series`` only with the memory to match.

``events_per_s`` / ``events_burst`` are a token bucket per host for log lines (the only
frames that become stored events one for one): past it, lines are dropped and counted,
and one ``ingest.dropped`` event per host per ``DROP_REPORT_S`` says how many.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from core.config import ConfigError, parse_duration

BYTES_PER_SERIES = 1_900  # measured, buffers full (see the module doc)
KEYS = {"max_hosts", "max_series_per_host", "max_series", "host_expire", "events_per_s",
        "events_burst", "state_save"}


@dataclass(frozen=True)
class Limits:
    max_hosts: int = 20_000
    max_series_per_host: int = 2_000
    max_series: int = 1_000_000
    host_expire: float = 7 * 86400.0  # a host silent this long is forgotten (0 = never)
    events_per_s: float = 100.0
    events_burst: float = 1000.0
    state_save: float = 1.0  # alert state saved at most this often (broker/state_saver.py)

    def memory_bytes(self) -> int:
        """What a broker full to every cap holds, about (series dominate)."""
        return self.max_series * BYTES_PER_SERIES + self.max_hosts * 2 * 1024


def parse_limits(section: dict[str, Any], where: str = "[broker]") -> Limits:
    """The caps set in ``section``; ConfigError naming the key for a bad value."""
    out: dict[str, Any] = {}
    for f in fields(Limits):
        if f.name not in section:
            continue
        val = section[f.name]
        if f.name in ("host_expire", "state_save"):
            out[f.name] = parse_duration(val, f"{where} host_expire")
            continue
        integer = f.type in (int, "int")
        if isinstance(val, bool) or not isinstance(val, int | float) or (
                integer and not isinstance(val, int)) or val <= 0:
            kind = "a whole number" if integer else "a number"
            raise ConfigError(f"{where} {f.name}: expected {kind} above zero, got {val!r}")
        out[f.name] = val
    return Limits(**out)
