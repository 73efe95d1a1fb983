"""Control ops that read the event store or the notifier; they run on the query thread
(``Op.query`` in core/ops.py), so a slow disk never stalls the core loop."""

from __future__ import annotations

from typing import Any

from broker.api.args import RequestError
from broker.api.args import int_arg as _int
from broker.api.args import opt_str as _opt_str
from broker.api.args import req_str as _req_str

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

    def history(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        now = self.core.clock.time()
        since = args.get("since", now - 3600)
        return self._store().history(_req_str(args, "host"), _req_str(args, "metric"),
                                     since, args.get("until", now), args.get("step", "1m"))

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



