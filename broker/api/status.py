"""The ``status`` op's answer: the broker's health in one map (monitor-ctl status, the TUI).

Read on the core thread (counters owned by the loop are read there without locks); store
figures come from the cache the query thread refreshes, so a slow disk never stalls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from broker.system import MonitoringSystem


def status(system: MonitoringSystem) -> dict[str, Any]:
    core, limits = system.core, system.limits
    assert core is not None and limits is not None
    hosts = core.state.hosts.values()
    return {
        "version": 1, "uptime": system.clock.time() - system.started, "pseq": core.pseq,
        "endpoints": core.endpoints | ({"metrics": f"http://{system.metrics_addr[0]}:"
                                                   f"{system.exporter.port}/metrics"}
                                        if system.exporter is not None and system.metrics_addr
                                        else {}),
        "hosts": len(core.state.hosts), "hosts_up": sum(h.status == "up" for h in hosts),
        "series": core.state.series_count(),
        "ingest": {"frames": core.frames, "rate": round(core.ingest_rate(), 1),
                   "rejected": sum(core.rejected.values()),
                   "rejected_by_reason": dict(core.rejected),
                   "held_on_probation": core.state.held,
                   "probation": len(core.state.probation or ()),
                   "probation_evicted": core.state.evicted,
                   "log_lines_dropped": core.handler.dropped,
                   "behind_s": round(core.handler.behind(system.clock.time()), 1),
                   "gaps": sum(h.gaps for h in hosts)},  # frames lost, from seq jumps
        "limits": {"max_hosts": limits.max_hosts,
                   "max_series_per_host": limits.max_series_per_host,
                   "max_series": limits.max_series,
                   "memory_at_caps_mb": limits.memory_bytes() // 2**20},
        # the number engine.alerts() would list, without sorting and rendering each one
        "alerts": len(system.engine.book.by_id) if system.engine is not None else 0,
        "alerting": system.engine is not None,
        "store": system.store_watch.status(system.store_stats),
        "bus": system.bus.stats() | system.committed.stats(),
        "supervisor": system.supervisor.status() + system.bus.supervisor.status()
        + system.committed.supervisor.status(),
        "control": {"requests": system.control.requests if system.control else 0,
                    "errors": system.control.errors if system.control else 0,
                    "refused": system.control.refused if system.control else 0},
        "security": system.gate.status(),
        "notify": ({"resent_after_crash": system.notifier.outbox.resent_after_crash}
                   if system.notifier is not None else None),
    }
