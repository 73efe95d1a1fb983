"""Control ops for data sources rather than people: ``thresholds`` (an agent's fast path
asks which levels to watch; a chart asks with ``metric`` and ``windowed`` for its lines) and ``push`` (``monitor-ctl push HOST METRIC=VALUE ...``).

Both run on the core thread, where the engine and the state cache live.
"""

from __future__ import annotations

from typing import Any

from broker.alerting.fastpath import thresholds_for
from core.protocol import MAX_METRICS_PER_FRAME


class RequestError(ValueError):
    """A request the broker understood but cannot carry out."""


def thresholds(core: Any, args: dict[str, Any]) -> dict[str, Any]:
    host = args.get("host")
    if not isinstance(host, str) or not host:
        raise RequestError("missing or empty 'host'")
    labels = _labels(args.get("labels"))
    metric = args.get("metric")
    if metric is not None and (not isinstance(metric, str) or not metric):
        raise RequestError("'metric' must be a metric name")
    windowed = args.get("windowed", False)
    if not isinstance(windowed, bool):
        raise RequestError("'windowed' must be true or false")
    if core.engine is None:
        return {"generation": 0, "thresholds": []}
    return thresholds_for(core.engine, host, labels, metric, windowed)


def push(core: Any, args: dict[str, Any]) -> dict[str, Any]:
    host = args.get("host")
    if not isinstance(host, str) or not host:
        raise RequestError("missing or empty 'host'")
    metrics = args.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise RequestError("'metrics' must be a non-empty map of name to number")
    if len(metrics) > MAX_METRICS_PER_FRAME:
        raise RequestError(f"{len(metrics)} metrics, over the {MAX_METRICS_PER_FRAME} limit")
    result: dict[str, Any] = core.ingest_push(host, metrics, _labels(args.get("labels")))
    return result


def _labels(val: Any) -> dict[str, str] | None:
    if val is None:
        return None
    if not isinstance(val, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in val.items()):
        raise RequestError("'labels' must be a map of string to string")
    return val
