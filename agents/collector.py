"""The collector plug-in point: a tiny ABC, found by name or through entry points.

A collector turns "now" into a flat map of dotted metric names to finite floats. The agent's
supervisor calls ``collect(now)`` once per interval from one thread, so a collector needs no
locks; it should be cheap (the system collector costs a few milliseconds) and must never
block on the network. Third-party collectors register under the entry-point group
``monitor.collectors`` (``name = "package.module:Class"``) and are loaded with
``load_collectors()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

ENTRY_POINT_GROUP = "monitor.collectors"


class Collector(ABC):
    """One source of metrics. Subclasses set ``name`` and implement ``collect``."""

    name: str = "collector"

    @abstractmethod
    def collect(self, now: float) -> dict[str, float]:
        """Metrics at ``now`` (unix seconds, passed in so tests control time).

        Every value is a finite float. A collector that cannot read something this time
        leaves that metric out rather than raising; raising means "restart me".
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most collectors hold nothing
        """Release whatever the collector holds (files, processes). Default: nothing."""


def load_collectors() -> dict[str, type[Collector]]:
    """Collector classes registered under the ``monitor.collectors`` entry-point group."""
    from importlib.metadata import entry_points

    found: dict[str, type[Collector]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, Collector):
            found[ep.name] = cls
    return found
