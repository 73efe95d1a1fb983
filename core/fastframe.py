"""The common frame, checked in a few C-level steps: a plain metrics frame from a known agent.

``protocol.validate`` walks every field with its reasons; on the broker's ingest path nearly
every frame is the same shape from the same agent as the one before (the eight fields of
``protocol.metrics_frame``, no labels or processes). ``decode`` accepts such a frame when
its host was accepted before with the same agent and boot (those three strings are then
known valid), its version, timestamp and ``seq`` are in range, and its metrics pass
``protocol``'s own fast check; anything else, including every frame it would reject, goes
through ``protocol.decode`` for the full check and its reason. It accepts nothing
``validate`` would refuse: it only skips re-checking strings seen valid.
"""

from __future__ import annotations

from typing import Any

from core import protocol

PLAIN_FIELDS = 8  # v, kind, host, agent, boot, seq, ts, metrics
_KNOWN_MAX = 200_000  # hosts remembered (cleared when full: a flood costs a re-check)
_known: dict[str, tuple[str, str]] = {}  # host -> (agent, boot) checked valid


def decode(parts: list[bytes], now: float) -> dict[str, Any]:
    """``protocol.decode`` with the fast path; raises ProtocolError with the same reasons."""
    if len(parts) == 2:
        obj = protocol.unpack(parts[1])
        if plain_ok(obj, now):
            return obj
        reason = protocol.validate(obj, now)
        if reason:
            raise protocol.ProtocolError(reason)
        if type(obj) is dict and obj.get("kind") in protocol.AGENT_KINDS:
            remember(obj)
        return obj  # type: ignore[no-any-return]
    return protocol.decode(parts, now)


def plain_ok(obj: Any, now: float) -> bool:
    if type(obj) is not dict or len(obj) != PLAIN_FIELDS or obj.get("kind") != "metrics":
        return False
    if obj.get("v") != protocol.VERSION:
        return False
    ts: Any = obj.get("ts")
    t = type(ts)
    # NaN fails both comparisons, +-inf the range
    if (t is not float and t is not int) or not -protocol.MAX_CLOCK_SKEW_S <= ts - now \
            <= protocol.MAX_CLOCK_SKEW_S:
        return False
    seq = obj.get("seq")
    if type(seq) is not int or seq < 0:
        return False
    host = obj.get("host")
    if type(host) is not str:
        return False
    ident = _known.get(host)
    if ident is None or ident[0] != obj.get("agent") or ident[1] != obj.get("boot"):
        return False
    metrics = obj.get("metrics")
    return (type(metrics) is dict and 0 < len(metrics) <= protocol.MAX_METRICS_PER_FRAME
            and protocol._metrics_fast_ok(metrics))


def remember(obj: dict[str, Any]) -> None:
    """A frame that passed the full check: its host, agent and boot are valid strings."""
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[obj["host"]] = (obj["agent"], obj["boot"])
