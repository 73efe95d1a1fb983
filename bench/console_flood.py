"""An event flood for bench/bench_console.py: host.down/host.up events (and the host_down
alerts they raise) at a set rate, fed to the app as the console's session thread feeds it.

A thread stands in for the session (tui/sources/session.py): every 10 ms it decodes the
next frames of the flood from their wire form (msgpack, as received) and hands each to the
session's own path into the UI. ``per_frame`` instead posts one message per frame, as the
session did before its batches (tui/sources/coalesce.py): the comparison of the two is the
flood's cost. About one frame in 20 is an alert change with its event (the broker's alert
frame); the rest are host events.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from core import protocol

TICK_S = 0.01  # the feeder's step: rate / 100 frames every 10 ms


def flood_frames(names: list[str], n: int = 4000) -> list[list[bytes]]:
    """``n`` encoded frames cycling through ``names``: host.down, host.up, a host_down
    alert firing or resolving now and then."""
    frames = []
    now = time.time()
    for i in range(n):
        host = names[i % len(names)]
        down = (i // len(names)) % 2 == 0
        kind = "host.down" if down else "host.up"
        event = {"id": f"fl{i:06d}", "ts": now, "kind": kind, "host": host,
                 "severity": "warning" if down else "info", "rule": "", "alert_id": "",
                 "message": f"host {host} silent for 16s" if down else f"host {host} is "
                 "reporting again", "data": {"last_seen": now - 16}}
        if i % 20 == 19:
            alert = {"id": f"hd-{host}", "rule": "host_down", "host": host, "metric": "up",
                     "kind": "host_down", "severity": "critical", "value": 16.0,
                     "threshold": 15.0, "state": "firing" if down else "resolved",
                     "started_at": now, "acked": False, "silenced": [],
                     "summary": f"{host} sent nothing for 16s"}
            frame = protocol.alert_frame(alert, now, {**event, "kind": "alert",
                                                      "alert_id": alert["id"]})
        else:
            frame = protocol.event_frame(event)
        frame["pseq"] = frame["nseq"] = i
        frames.append(protocol.encode(frame))
    return frames


class Flood:
    """The flood's thread: ``rate`` frames a second until ``stop``; ``sent`` counts them."""

    def __init__(self, app: Any, names: list[str], rate: int, per_frame: bool) -> None:
        from tui.sources.coalesce import Coalescer

        self.app, self.rate, self.per_frame = app, rate, per_frame
        self.frames = flood_frames(names)
        self.coalescer = Coalescer("frozen", app.post_message)
        self.sent = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="flood", daemon=True)

    def start(self) -> None:
        if self.rate > 0:
            self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(5)

    def run(self) -> None:
        from tui.messages import AlertChanged, EventReceived

        frames = itertools.cycle(self.frames)
        per_tick = max(1, round(self.rate * TICK_S))
        start = next_flush = time.monotonic()
        while not self.stopping.is_set():
            due = start + (self.sent + per_tick) / self.rate
            for _ in range(per_tick):
                frame = protocol.decode(next(frames), cap=protocol.MAX_PUBLISH_MSG)
                if not self.per_frame:
                    self.coalescer.frame(frame)
                elif frame["kind"] == "alert":
                    self.app.post_message(AlertChanged("frozen", frame["alert"]))
                    self.app.post_message(EventReceived("frozen", frame["event"]))
                else:
                    self.app.post_message(EventReceived("frozen", frame["event"]))
            self.sent += per_tick
            now = time.monotonic()
            if now >= next_flush:  # the session's FLUSH_S
                self.coalescer.flush()
                next_flush = now + self.coalescer.interval
            self.stopping.wait(max(0.0, due - now))
        self.coalescer.flush()
