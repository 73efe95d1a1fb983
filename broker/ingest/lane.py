"""The steady lane: a host's metrics frame shaped like the ones before it, in a few steps.

Nearly every frame a broker receives is a plain metrics frame (the eight fields of
``protocol.metrics_frame``, no labels, processes or flags) from a host that is up, sent by
the same agent and boot as its previous frame, with metric names the host has sent before.
The full path (``FrameHandler.ingest``) checks such a frame field by field, builds the
state's notes, an ``Out`` list of tagged tuples and the frame's topic, every time. Here a
host that the full path accepted a plain frame from gets a ``Lane`` (its record, the names
of that frame and its topic, made once), and ``take`` handles the next frames of that
shape in one pass: the C-level checks of core/fastframe.py against the lane instead of the
field-by-field ones, the identity and liveness updates of ``State.touch`` for the one case
it can meet (same agent and boot, a seq step that is no restart), then the same calls as
the full path (the state's metrics and sparkline ring, the digest figures, the store's
rollups, the alert engine). Anything else (another shape, another agent or boot, a host not
up, a name not sent before, a seq jump counted as a restart, a limit lowered under the
host, a value the fast checks do not pass) returns None and goes through the full path,
which says what is wrong or does what it does. It accepts nothing the full path would
refuse and changes nothing the full path would not.

A lane holds the host's ``HostRecord``; ``drop`` removes it when the host is forgotten
(the only way a record is replaced).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from broker.ingest.state import MAX_SEQ_JUMP, HostRecord
from broker.layout import names as shared_names
from core import fastframe, protocol

if TYPE_CHECKING:
    from broker.events import Event
    from broker.ingest.handler import FrameHandler

_SKEW = protocol.MAX_CLOCK_SKEW_S
_VERSION = protocol.VERSION
_isfinite = math.isfinite


class Lane:
    __slots__ = ("hs", "names", "topic")

    def __init__(self, hs: HostRecord, names: tuple[str, ...], topic: bytes) -> None:
        self.hs = hs
        self.names = names  # the metric names of a frame accepted in full: known valid
        self.topic = topic


class Lanes:
    def __init__(self, handler: FrameHandler) -> None:
        self.handler = handler
        self.lanes: dict[str, Lane] = {}
        self.taken = 0  # frames handled here (the rest went through the full path)

    def learn(self, hs: HostRecord, frame: dict[str, Any]) -> None:
        """The full path accepted ``frame``: give its host a lane if it is plain."""
        if (len(frame) == fastframe.PLAIN_FIELDS and frame["kind"] == "metrics"
                and hs.boot and hs.status == "up"):
            lane = self.lanes.get(hs.host)
            names = shared_names(tuple(frame["metrics"]))  # the history's ``seen`` (state.py)
            if lane is None or lane.hs is not hs:
                self.lanes[hs.host] = Lane(hs, names, protocol.topic_for(frame))
            elif lane.names is not names:
                lane.names = names

    def drop(self, host: str) -> None:
        self.lanes.pop(host, None)

    def take(self, payload: bytes, now: float
             ) -> tuple[bytes, Sequence[Event]] | None:
        """(topic, events) once handled; None: the full path must take it (nothing has
        been changed then)."""
        obj = fastframe.plain_obj(payload)  # the fields' types checked as it decodes
        if obj is None:
            return None
        host = obj.host
        lane = self.lanes.get(host)
        if lane is None:
            return None
        hs = lane.hs
        seq, ts, metrics = obj.seq, obj.ts, obj.metrics
        if (obj.kind != "metrics" or obj.v != _VERSION or obj.agent != hs.agent
                or obj.boot != hs.boot or hs.status != "up" or seq < 0
                or tuple(metrics) != lane.names):
            return None
        # NaN fails both comparisons, +-inf the range
        if not -_SKEW <= ts - now <= _SKEW:
            return None
        values = metrics.values()
        try:
            if not _isfinite(sum(values)):
                return None
        except OverflowError:
            return None
        h = self.handler
        state = h.state
        # State.check with no new name: only a limit lowered under the host refuses it
        if len(hs.metrics) > state.max_series or state.total_series > state.max_series_total:
            return None
        step = seq - hs.seq  # State.touch, same agent and boot: a gap, or nothing
        if step > 1:
            if step > MAX_SEQ_JUMP:
                return None  # counted as a restart: the full path
            hs.gaps += step - 1
            hs.seq = seq
        elif step == 1:
            hs.seq = seq
        elif step < -MAX_SEQ_JUMP:
            return None
        if ts > hs.last_seen:
            hs.last_seen = ts
        h.frames += 1
        self.taken += 1
        state.apply_steady(hs, metrics, ts, lane.names)
        if h.digests.noting:
            h.digests.note(host, hs.metrics)
        if h.sink is not None:
            h.sink.record_metrics(host, metrics, ts, lane.names)
        # steady: the names are the lane's, which the engine indexed when the full path
        # gave it the frame the lane was made from (a forgotten host has no lane)
        engine = h.engine
        if engine is None:
            return lane.topic, ()
        return lane.topic, engine.on_sample(host, metrics, hs.labels, now, True, True,
                                            (hs.agent, hs.boot, seq))
