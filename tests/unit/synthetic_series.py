"""The project's own synthetic series for the anomaly detector: noise, spikes, steps,
ramps and a daily cycle, each from ``random.Random(seed)`` so a run is repeatable."""

from __future__ import annotations

import math
import random

T0 = 1_700_000_000.0
DAY = 86400.0
MEAN, SD = 40.0, 2.0


def noise(n: int, step: float = 10.0, seed: int = 1) -> list[tuple[float, float]]:
    """Gaussian noise around MEAN (SD), one sample per ``step`` seconds."""
    rng = random.Random(seed)
    return [(T0 + i * step, rng.gauss(MEAN, SD)) for i in range(n)]


def cpu_noise(n: int, step: float = 10.0, seed: int = 2) -> list[tuple[float, float]]:
    """CPU-like: a skewed busy percentage (gamma around 15 %) with a slow wander, clamped
    to 0-100, rounded to 0.1 % like an agent sends it."""
    rng = random.Random(seed)
    out, drift = [], 0.0
    for i in range(n):
        drift = 0.999 * drift + rng.gauss(0.0, 0.05)
        v = min(100.0, max(0.0, 10.0 + rng.gammavariate(2.0, 2.5) + drift))
        out.append((T0 + i * step, round(v, 1)))
    return out


def with_step(series: list[tuple[float, float]], at: int, length: int,
              height: float) -> list[tuple[float, float]]:
    return [(t, v + height if at <= i < at + length else v)
            for i, (t, v) in enumerate(series)]


def with_ramp(series: list[tuple[float, float]], at: int, length: int,
              height: float) -> list[tuple[float, float]]:
    """A linear climb from 0 to ``height`` over ``length`` samples, then held."""
    return [(t, v + height * min(1.0, (i - at + 1) / length) if i >= at else v)
            for i, (t, v) in enumerate(series)]


def daily(n: int, step: float = 60.0, amplitude: float = 10.0 * SD,
          seed: int = 3) -> list[tuple[float, float]]:
    """A daily cycle (peak mid-afternoon) of ``amplitude`` plus the Gaussian noise."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = T0 + i * step
        phase = 2 * math.pi * ((t % DAY) / DAY - 0.375)
        out.append((t, MEAN + amplitude * math.sin(phase) + rng.gauss(0.0, SD)))
    return out
