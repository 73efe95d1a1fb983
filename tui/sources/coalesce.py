"""The session thread's side of a batch (tui/batch.py): frames in, one message a frame
interval out.

``Coalescer.frame`` takes each published frame the session applies (after its sequence
checks) into the batch being built; ``flush`` posts it as one ``FleetChanges`` message, at
most every ``FLUSH_S`` (the session calls it on its clock). A fleet digest is posted on its
own, after the batch before it (it is a whole-fleet picture: what came before it must not
be applied after it). So a storm of 5,000 events a second reaches the UI as 10 messages, and
a key pressed meanwhile is not queued behind thousands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.batch import Batch
from tui.messages import DigestUpdate, FleetChanges

FLUSH_S = 0.1  # a batch is posted at most 10 times a second


class Coalescer:
    interval = FLUSH_S

    def __init__(self, source: str, post: Callable[[Any], Any]) -> None:
        self.source, self.post = source, post
        self.batch = Batch()
        self.posted = 0  # batches posted (the flood test reads it)

    def frame(self, frame: dict[str, Any]) -> None:
        """One validated frame of the publish stream, in order."""
        kind, batch = frame["kind"], self.batch
        if kind == "metrics":
            batch.add_metrics(frame["host"], frame["ts"], frame["metrics"])
        elif kind == "alert":
            batch.add_alert(frame["alert"])
            if isinstance(frame.get("event"), dict):  # the change, for the live event log
                batch.add_event(frame["event"])
        elif kind == "event":
            batch.add_event(frame["event"])
        elif kind in ("hello", "host"):
            batch.add_host(frame["host"], "hello" if kind == "hello" else frame["status"],
                           frame["ts"], frame.get("info") or {})
        elif kind == "digest":
            self.flush()
            self.post(DigestUpdate(self.source, frame["digest"]))

    def flush(self) -> None:
        if self.batch:
            batch, self.batch = self.batch, Batch()
            self.posted += 1
            self.post(FleetChanges(self.source, batch))
