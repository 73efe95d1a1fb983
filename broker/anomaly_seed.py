"""Seed the anomaly rules' seasonal profiles and novelty memories from the store at start.

The engine saves its baselines with its state, so a normal restart needs nothing. When the
state is gone, or a new anomaly rule was added, the store's hourly rollups still hold the
last days of every series: ``seed(engine, store, now)`` hands them to the engine, which
applies them when each series has its first sample (broker/alerting/robust.py ``seed``).
The alert engine and the store never import each other; this glue does.
"""

from __future__ import annotations

from typing import Any

from broker.alerting.globs import compile_glob

SEED_DAYS = 8.0


def seed(engine: Any, store: Any, now: float) -> int:
    """Queue seeds for every stored (host, metric) some anomaly rule reads; returns how
    many series were queued."""
    globs = [compile_glob(r.metric) for r in engine.rules if r.enabled and r.kind == "anomaly"]
    if not globs:
        return 0
    since = now - SEED_DAYS * 86400.0
    n = 0
    for host, metric in store.series(since):
        if not any(g(metric) for g in globs):
            continue
        rows = store.history(host, metric, since, now, step="1h")
        hours = [(r["ts"], r["min"], r["avg"], r["max"], r["count"]) for r in rows]
        if hours:
            engine.seed_anomaly(host, metric, hours)
            n += 1
    return n
