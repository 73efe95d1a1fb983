"""The thresholds an agent's fast path watches: the broker still decides, agents send early.

An agent samples its cheap counters ten times a second and publishes at once when a value
crosses one of the levels returned here (agents/fastpath.py), instead of waiting for its
next regular frame. Only ``threshold`` rules without a window (``over``) qualify: a
windowed aggregate needs the regular samples, and other kinds need history. The host
filter (name globs and label matchers) is the engine's own, so an agent hears exactly
the rules that apply to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker.alerting.index import HostSeries


def thresholds_for(engine: Any, host: str, labels: Mapping[str, str] | None,
                   metric: str | None = None, windowed: bool = False) -> dict[str, Any]:
    """``{"generation", "thresholds": [{rule, metric, op, levels, per_core, warning,
    critical}]}``. A chart asks with ``metric`` (only the rules whose metric glob matches
    it) and ``windowed`` (rules with an ``over`` window too: their levels are lines as well)."""
    hs = engine.hosts.get(host)
    if hs is None:
        hs = HostSeries(host)
        hs.labels = dict(labels or engine.book.host_labels.get(host) or {})
    out = []
    for rule, match, hosts_ok in engine.index.metric_rules:
        if rule.kind != "threshold" or (rule.over > 0 and not windowed):
            continue
        if metric is not None and not match(metric):
            continue
        if hosts_ok is not None and not hosts_ok(hs):
            continue
        levels = [float(v) for v in (rule.warning, rule.critical) if v is not None]
        out.append({"rule": rule.name, "metric": rule.metric, "op": rule.op, "levels": levels,
                    "per_core": rule.per_core, "warning": rule.warning,
                    "critical": rule.critical})
    return {"generation": engine.generation, "thresholds": out}
