"""Temperatures and fans through psutil, where the platform has them (Linux hwmon, FreeBSD).

``temp.<chip>.<label>`` in °C (``current``; the chip's ``high``/``critical`` are not sent:
rules carry thresholds) and ``fan.<chip>.<label>`` in RPM. A sensor without a label is
numbered from 0 within its chip; white space and dots in names become ``_`` so the last
dotted part stays the sensor. Reading hwmon costs a few milliseconds, so the agent reads
sensors every 5 s (``SENSORS_EVERY``), not every interval. A platform without sensors
(most VMs, containers, macOS) gives no metrics and costs one call.
"""

from __future__ import annotations

import math
from typing import Any

import psutil

from agents.collector import Collector

SENSORS_EVERY = 5.0


def _part(text: str) -> str:
    return "_".join(text.replace(".", "_").split()) or "x"


class SensorsCollector(Collector):
    name = "sensors"

    def __init__(self) -> None:
        self.available = hasattr(psutil, "sensors_temperatures") or hasattr(psutil,
                                                                             "sensors_fans")

    def collect(self, now: float) -> dict[str, float]:
        out: dict[str, float] = {}
        self._read(out, "temp", "sensors_temperatures")
        self._read(out, "fan", "sensors_fans")
        return out

    @staticmethod
    def _read(out: dict[str, float], prefix: str, fn_name: str) -> None:
        fn: Any = getattr(psutil, fn_name, None)
        if fn is None:
            return
        try:
            chips = fn() or {}
        except (OSError, RuntimeError, NotImplementedError):
            return
        for chip, entries in chips.items():
            seen: dict[str, int] = {}
            for i, e in enumerate(entries):
                label = _part(e.label) if e.label else str(i)
                n = seen.get(label, 0)
                seen[label] = n + 1
                if n:
                    label = f"{label}_{n}"
                v = float(e.current)
                if math.isfinite(v):
                    out[f"{prefix}.{_part(chip)}.{label}"] = v
