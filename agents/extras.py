"""The agent's optional parts: sensors, containers, journald, plug-in collectors.

``Extras`` is what the config turned on; ``host_collectors`` gives the collectors folded
into the system frame (each with its own period), ``children`` the supervised children:
``journald`` (the journal follower, sharing nothing with file capture but its rate) and one
``plugin:<name>`` per collector registered under the ``monitor.collectors`` entry-point
group. A plug-in that cannot be loaded is reported as an event and left out; one that
raises in ``collect`` is restarted by the supervisor with back-off, and each restart is an
event; it never takes the system collector down with it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agents.collector import ENTRY_POINT_GROUP, Collector

log = logging.getLogger(__name__)


@dataclass
class Extras:
    sensors: bool = True
    containers: bool = True
    ignore_fstypes: tuple[str, ...] | None = None  # None: the defaults of agents.system
    ignore_mounts: tuple[str, ...] | None = None
    journald: dict[str, Any] | None = None  # {"units": [...], "priority": "warning"}
    plugins: bool | list[str] = True  # True: every registered plug-in; a list: those


def host_collectors(x: Extras) -> list[tuple[Collector, float]]:
    """(collector, seconds between reads) merged into the regular frame."""
    out: list[tuple[Collector, float]] = []
    if x.sensors:
        from agents.sensors import SENSORS_EVERY, SensorsCollector

        out.append((SensorsCollector(), SENSORS_EVERY))
    if x.containers:
        from agents.cgroups import CgroupCollector

        c = CgroupCollector()
        if c.root is not None:
            out.append((c, 0.0))
    return out


def load_plugins(wanted: bool | list[str],
                 event: Callable[[str, str, str], None]) -> dict[str, type[Collector]]:
    """Registered collector classes; a broken entry point is an event, not a crash."""
    from importlib.metadata import entry_points

    found: dict[str, type[Collector]] = {}
    if wanted is False:
        return found
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if isinstance(wanted, list) and ep.name not in wanted:
            continue
        try:
            cls = ep.load()
        except Exception as exc:  # any import error of someone else's package
            event("error", f"plug-in collector {ep.name} ({ep.value}) cannot be loaded: "
                           f"{exc.__class__.__name__}: {exc}", "monitor-agent")
            continue
        if not (isinstance(cls, type) and issubclass(cls, Collector)):
            event("error", f"plug-in collector {ep.name} ({ep.value}) is not a "
                           "agents.collector.Collector subclass", "monitor-agent")
            continue
        found[ep.name] = cls
    if isinstance(wanted, list):
        for name in sorted(set(wanted) - set(found)):
            event("warning", f"plug-in collector {name} is not installed", "monitor-agent")
    return found


def plugin_child(cls: type[Collector], interval: float, clock: Any,
                 publish: Callable[[dict[str, float]], None]) -> Callable[[threading.Event], None]:
    def run(stop: threading.Event) -> None:
        collector = cls()
        try:
            while not stop.is_set():
                started = clock.monotonic()
                metrics = collector.collect(clock.time())
                if metrics:
                    publish(metrics)
                stop.wait(max(0.0, interval - (clock.monotonic() - started)))
        finally:
            collector.close()
    return run


@dataclass
class JournaldChild:
    options: dict[str, Any]
    emit: Callable[[str, str, str, float], None]
    clock: Any
    state: dict[str, Any] = field(default_factory=dict)

    def run(self, stop: threading.Event) -> None:
        from agents.journald import JournaldFollower

        if not JournaldFollower.available():  # said once; the child ends (transient)
            self.emit("monitor-agent", "error", "journald capture is on but journalctl is "
                      "not installed here", self.clock.time())
            return
        f = JournaldFollower(self.emit, clock=self.clock, units=self.options.get("units", ()),
                             priority=self.options.get("priority"))
        self.state["follower"] = f
        f.run(stop)
