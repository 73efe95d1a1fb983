"""Control ops that read the event store or the notifier; they run on the query thread
(``Op.query`` in core/ops.py), so a slow disk never stalls the core loop."""

from __future__ import annotations

import math
from typing import Any

from broker.api.args import RequestError
from broker.api.args import int_arg as _int
from broker.api.args import opt_str as _opt_str
from broker.api.args import req_str as _req_str
from broker.store.rollups import STEPS

EXPORT_PAGE = 5000  # events per export page: a few MB, far under the reply cap


class StoreOps:
    """Mixed into broker/api/control.Control (``self.system``, ``self.core``)."""

    system: Any
    core: Any

    def _store(self) -> Any:
        if self.system.store is None:
            raise RequestError("the event store is not enabled on this broker")
        return self.system.store

    def search(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        query = args.get("query", "")
        if not isinstance(query, str):
            raise RequestError("'query' must be a string")
        limit = _int(args, "limit", 50, 1, 10_000)
        before_ts, before_seq = args.get("before_ts"), args.get("before_seq")
        if before_ts is not None and (not isinstance(before_ts, int | float)
                                      or isinstance(before_ts, bool)):
            raise RequestError("'before_ts' must be a number (unix seconds)")
        if before_seq is not None and (not isinstance(before_seq, int)
                                       or isinstance(before_seq, bool)):
            raise RequestError("'before_seq' must be an integer (an event's seq)")
        if before_seq is not None:  # exact paging: seq is unique, ts is not
            return self._store().search(query, limit=limit, before_seq=before_seq)
        return self._store().search(query, limit=limit, before_ts=before_ts)

    def history_live(self, args: dict[str, Any]) -> dict[str, Any]:
        """On the core thread, before ``history`` is queued (``recent: true`` only): the host's
        live samples of the metric not yet in a rollup, and what the broker knows of it."""
        if args.get("recent") is not True:
            return args
        state = getattr(self.core, "state", None)
        hs = state.hosts.get(args.get("host")) if state is not None else None
        metric = args.get("metric")
        live: dict[str, Any] = {"known": hs is not None, "metrics": [], "samples": []}
        if hs is not None and isinstance(metric, str):
            live["metrics"] = sorted(hs.metrics)
            since = args.get("since")
            live["samples"] = hs.history.tail(
                metric, float(since) if isinstance(since, int | float) else -math.inf)
        return {**args, "_live": live}

    def history(self, args: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
        """A series' rollups. With ``recent: true`` a map instead of the bare list: ``points``
        (the rollups), ``recent`` ([ts, value] samples newer than the last point's start, from
        the broker's live ring: a host seen for 10 s already has a line), ``known`` (the broker
        has this host now) and ``metrics`` (the host's metric names, for a misspelt one)."""
        now = self.core.clock.time()
        since = args.get("since", now - 3600)
        for key in ("since", "until"):
            val = args.get(key)
            if val is not None and (not isinstance(val, int | float) or isinstance(val, bool)):
                raise RequestError(f"'{key}' must be a number (unix seconds)")
        step = args.get("step", "1m")
        if step not in STEPS:
            raise RequestError(f"unknown step {step!r} (steps: {', '.join(STEPS)})")
        points = self._store().history(_req_str(args, "host"), _req_str(args, "metric"),
                                       since, args.get("until", now), step)
        if args.get("recent") is not True:
            return points
        live = args.get("_live") or {"known": False, "metrics": [], "samples": []}
        after = points[-1]["ts"] if points else -math.inf
        recent = [[t, v] for t, v in live["samples"] if t >= after]
        return {"points": points, "recent": recent, "known": bool(live["known"]),
                "metrics": list(live["metrics"])}

    def export(self, args: dict[str, Any]) -> Any:
        import io

        from broker.store.search import parse_time

        now = self.core.clock.time()
        when: dict[str, float | None] = {}
        for key in ("since", "until"):
            val = args.get(key)
            if val is None or val == "":
                when[key] = None
            elif isinstance(val, int | float) and not isinstance(val, bool):
                when[key] = float(val)
            elif isinstance(val, str):
                when[key] = parse_time(val, now, f"--{key} {val}")
            else:
                raise RequestError(f"'{key}' must be a time like 1h, 2026-11-26T10:00 or "
                                   "unix seconds")
        fmt = args.get("format", "jsonl")
        if fmt not in ("jsonl", "csv"):
            raise RequestError(f"format {fmt!r}: use jsonl or csv")
        query = _opt_str(args, "query")
        out = io.StringIO()
        if "after" not in args:  # one reply with everything (small exports, old clients)
            self._store().export(when["since"], when["until"], fmt, out, query=query)
            return out.getvalue()
        after = _int(args, "after", 0, 0, 2**62)
        store = self._store()
        n = store.export(when["since"], when["until"], fmt, out, query=query, after=after,
                         limit=_int(args, "limit", EXPORT_PAGE, 1, 100_000),
                         header=after == 0)
        return {"text": out.getvalue(), "count": n, "next": store.last_cursor}

    def notifications(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """``alert_id`` (and ``episode``): only the notifications that carried that alert."""
        limit = _int(args, "limit", 50, 1, 1000)
        alert_id, episode = _opt_str(args, "alert_id"), _opt_str(args, "episode")
        if episode and not alert_id:
            raise RequestError("'episode' needs 'alert_id' (an episode id belongs to an alert)")
        if self.system.notifier is None:
            return []
        return self.system.notifier.recent(limit, alert_id, episode)

    def test_notify(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.system.notifier is None:
            raise RequestError("no receivers are configured on this broker")
        receiver = _req_str(args, "receiver")
        return {"receiver": receiver, "id": self.system.notifier.test_notify(receiver)}



