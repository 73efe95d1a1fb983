"""Control ``fleet_at``: the fleet as it was at a past moment, for rewind (post-mortems).

Shaped like ``snapshot`` (so a console shows it with the code that shows the live fleet; past
``brief_above`` known hosts, ``brief``: only the ``detail`` hosts come with every metric and
a history, the others with what a dashboard row shows) plus
``as_of`` (the moment), ``step`` (the rollups it was rebuilt from: ``1m`` within the
minute rollups' retention, else ``1h``) and ``oldest`` (the oldest moment it can show: a
console stops stepping back there). Hosts: every host with a bucket near the moment
(``up`` when its newest bucket is the moment's or the one before, ``down`` when it had gone
quiet before, with its last values), and every host known now without data then
(``unknown``, no metrics). Alerts: as listed at the moment (broker/store/rewind.py). Runs on
the query thread.
"""

from __future__ import annotations

import math
from typing import Any

from broker.api.args import RequestError
from broker.api.args import int_arg as _int
from broker.api.args import opt_str as _opt_str
from broker.ingest.state import SPARK_SERIES
from broker.store.rewind import LOOKBACK_S, UP_BUCKETS
from core.units import duration

FUTURE_SLACK_S = 5.0  # a console's clock a little ahead of the broker's: "now"
STEP_MARGIN_S = 600.0  # near the minute rollups' age limit, read the hours (pruning runs)
EVENTS = 100  # the recent events of the picture: the ones before the moment
DETAIL_ALL = 100  # up to this many hosts, every host comes with its history
PENDING_MARGIN_S = 60.0  # the tick that fires a pending alert comes up to a second late


def _spark(metric: str) -> bool:
    return metric in SPARK_SERIES or metric.startswith(("disk.", "net."))


class RewindOps:
    """Mixed into broker/api/control.Control (``self.system``, ``self.core``)."""

    system: Any
    core: Any

    def _store(self) -> Any:  # pragma: no cover - StoreOps provides it
        raise NotImplementedError

    def fleet_at(self, args: dict[str, Any]) -> dict[str, Any]:
        store = self._store()
        now = self.core.clock.time()
        t = args.get("ts")
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise RequestError(f"'ts' must be a moment in unix seconds (a number), not {t!r}")
        t = float(t)
        if t > now + FUTURE_SLACK_S:
            raise RequestError(f"ts is {duration(t - now)} in the future: rewind shows the "
                               "past only")
        t = min(t, now)
        if t < now - store.retention_s:
            raise RequestError(f"ts is {duration(now - t)} ago, before the store's retention "
                               f"({duration(store.retention_s)})")
        minutes_from = now - store.rollup_1m_retention_s + STEP_MARGIN_S
        step = 60 if t >= minutes_from else 3600
        first = store.oldest_rollup(step)
        oldest_hour = store.oldest_rollup(3600)  # the oldest moment this broker can show:
        oldest = oldest_hour if oldest_hour is not None and oldest_hour < minutes_from \
            else store.oldest_rollup(60)  # in the hours when older than the minutes' reach
        if oldest is not None:
            oldest = max(oldest, now - store.retention_s)
        if first is None or t < first:
            since = f"the oldest is {duration(now - first)} ago" if first is not None else \
                "none yet"
            raise RequestError(f"no metrics recorded {duration(now - t)} ago ({since} at "
                               f"{'1 min' if step == 60 else '1 h'} resolution)")
        detail = args.get("detail") or []
        if not isinstance(detail, list) or not all(isinstance(d, str) for d in detail):
            raise RequestError("'detail' must be a list of host names")
        only = _opt_str(args, "host")
        brief_above = _int(args, "brief_above", DETAIL_ALL, 0, 2**31 - 1)
        known = self._known_hosts()
        brief = len(known) > brief_above  # then only ``detail`` hosts have every metric
        res = store.fleet_at(t, step, set(known), None if not brief and not only
                             else set(detail) | ({only} if only else set()), _spark,
                             self._pending_window())
        hosts = []
        for name in sorted(res["hosts"].keys() | known.keys()):
            if only and name != only:
                continue
            info, labels = known.get(name, ({}, {}))
            at = res["hosts"].get(name)
            if at is None:
                hosts.append({"host": name, "status": "unknown", "last_seen": 0.0,
                              "info": info, "labels": labels, "metrics": {}, "history": {}})
                continue
            bucket, metrics = at
            up = bucket >= int(t // step) * step - UP_BUCKETS * step
            hosts.append({"host": name, "status": "up" if up else "down",
                          "last_seen": min(t, float(bucket + step)), "info": info,
                          "labels": labels, "metrics": metrics,
                          "history": res["history"].get(name, {})})
        alerts = [a for a in res["alerts"] if not only or a.get("host") == only]
        events = store.search("", limit=EVENTS, before_ts=math.nextafter(t, math.inf))
        return {"pseq": getattr(self.core, "pseq", 0), "nseq": getattr(self.core, "nseq", 0),
                "brief": brief, "ts": now, "as_of": t, "step": "1m" if step == 60 else "1h",
                "oldest": oldest,
                "broker": {}, "hosts": hosts, "alerts": alerts, "events": events[::-1]}

    def _pending_window(self) -> float:
        """How far before a moment an alert pending then may have gone pending: the
        longest ``for:`` of the rules loaded now (a rule whose ``for:`` was longer before a
        reload is not known here), at least the store's LOOKBACK_S."""
        engine = getattr(self.core, "engine", None)
        longest = max((float(r.for_) for r in getattr(engine, "rules", ())), default=0.0)
        return max(LOOKBACK_S, longest + PENDING_MARGIN_S)

    def _known_hosts(self) -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
        """Every host the broker knows now: (hello info, labels). A copy of the core's
        dict (one C call: safe from the query thread)."""
        state = getattr(self.core, "state", None)
        records = dict(state.hosts) if state is not None else {}
        return {name: (dict(rec.info or {}), dict(rec.labels or {}))
                for name, rec in records.items()}
