"""The frame handler: a frame in, the state updated, and what to publish and emit out.

Pure with respect to I/O: it owns no socket and reads no clock (the caller passes ``now``).
The core loop (broker/ingest/loop.py) feeds it what the SUB socket receives and carries out
its ``Out`` list in order: frames go to the PUB socket, events to the bus.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from broker.events import Event, make_event
from broker.ingest.digest import DigestBuilder
from broker.ingest.lane import Lanes
from broker.ingest.seams import AlertEngine, MetricSink
from broker.ingest.state import Held, HostRecord, LimitExceeded, State, shared_info
from broker.limits import Limits
from core import fastframe, protocol
from core.protocol import ProtocolError

if TYPE_CHECKING:
    from core.keydir import Identity

log = logging.getLogger(__name__)

LOG_SEVERITY = {"fatal": "critical", "critical": "critical", "emerg": "critical",
                "alert": "critical", "error": "warning", "warn": "warning", "warning": "warning"}
REJECT_EVENTS_PER_S = 10
DROP_REPORT_S = 10.0  # one ingest.dropped event per host per this, while it is over budget
BEHIND_LIMIT = 60.0  # behind on ingest for longer: silence is judged at now again (seen_by)
EXPIRE_EVERY_S = 60.0  # how often silent hosts are looked at for host_expire

# What one step produced, in order: ("publish", frame), ("forward", (frame, payload)) for
# a received frame republished as its bytes, or ("emit", event).
Out = list[tuple[str, Any]]


class FrameHandler:
    def __init__(self, state: State, *, engine: AlertEngine | None = None,
                 sink: MetricSink | None = None, host_timeout: float = 15.0,
                 limits: Limits | None = None) -> None:
        self.state = state
        self.engine = engine
        self.sink = sink
        self.host_timeout = host_timeout
        self.limits = limits or Limits()
        if engine is not None:
            state.trusted = engine.knows
        # host -> [tokens, last refill, dropped not yet reported, last report]
        self.buckets: dict[str, list[float]] = {}
        self.dropped = 0  # log lines over a host's budget
        self._expired_at = 0.0
        self.frames = 0
        self.rejected: Counter[str] = Counter()
        self._reject_budget = (0, 0)  # (second, events emitted in it)
        self._reject_suppressed = 0
        self.digests = DigestBuilder()
        self.lanes = Lanes(self)  # the steady frames' short path (broker/ingest/lane.py)
        self.caught_up: float | None = None  # when the loop last had read every frame

    def ingest(self, parts: list[bytes], now: float, who: Identity | None = None) -> Out:
        """``who``: the key that sent the frame (None without keys); an agent's key may
        publish only for its own hosts."""
        self.frames += 1
        try:
            frame = fastframe.decode(parts, now)
            if frame["kind"] not in protocol.AGENT_KINDS:
                raise ProtocolError(f"kind '{frame['kind']}' is not accepted on ingest")
            if who is not None and not who.may_publish(frame["host"]):
                raise ProtocolError(f"host '{frame['host']}' is not allowed for key "
                                    f"'{who.name}'")
            self.state.check(frame)
        except Held:
            return []  # the first frame of a new host: admitted with its next (state.py)
        except (ProtocolError, LimitExceeded) as exc:
            return self.reject(str(exc), parts, now)
        hs, notes = self.state.touch(frame)
        host, kind = hs.host, frame["kind"]
        if self.engine is not None:
            self.engine.set_origin(host, frame["agent"], frame["boot"], frame["seq"])
        out: Out = []
        events: list[Event] = []
        if notes:
            events.extend(self._host_notes(hs, notes, now, out))
        if kind == "metrics":
            self._metrics(hs, frame, now, events)
            if who is None:
                self.lanes.learn(hs, frame)
        elif kind == "log" and not self._spend(host, now):
            if self.engine is not None:  # not stored, but log rules still count it
                events.extend(self.engine.on_log(host, frame["level"].lower(), frame["message"],
                                                 frame["source"], now))
        elif kind == "log":
            level = frame["level"].lower()
            sev = LOG_SEVERITY.get(level, "info")
            events.append(make_event("log", frame["message"], ts=frame["ts"], host=host,
                                     severity=sev, data={"source": frame["source"],
                                                         "level": level,
                                                         "dropped": frame.get("dropped", 0)}))
            if self.engine is not None:
                events.extend(self.engine.on_log(host, level, frame["message"],
                                                 frame["source"], now))
        elif kind == "goodbye":
            hs.status = "stopped"
            out.append(("publish", protocol.host_frame(host, "stopped", now, hs.info)))
            events.append(make_event("host.stopped", f"agent on {host} stopped cleanly",
                                     ts=now, host=host, data={"agent": hs.agent}))
            if self.engine is not None:
                events.extend(self.engine.host_stopped(host, now))
            return out + [("emit", e) for e in events]
        elif kind == "hello":
            if frame["info"] != hs.info:
                hs.info = shared_info(frame["info"])
                labels = hs.info.get("labels")
                if isinstance(labels, dict):  # the agent's host labels ([agent] labels)
                    hs.labels.update({k: v for k, v in labels.items() if isinstance(v, str)})
                out.append(("publish", protocol.host_frame(host, "hello", now, hs.info)))
        if kind != "log":  # a log line goes out once, as its stored event (topic l.<host>)
            # metrics are republished as received: the loop splices pseq into the bytes
            out.append(("forward", (frame, parts[1])) if kind == "metrics"
                       and "pseq" not in frame and "nseq" not in frame else ("publish", frame))
        if events:
            out.extend(("emit", event) for event in events)
        return out

    def _metrics(self, hs: HostRecord, frame: dict[str, Any], now: float,
                 events: list[Event], alive: bool = True) -> None:
        metrics = frame["metrics"]
        self.state.apply_metrics(hs, metrics, frame.get("labels"), frame["ts"])
        if self.digests.noting:
            self.digests.note(hs.host, hs.metrics)
        if "procs" in frame:
            self.state.apply_processes(hs, protocol.process_dicts(frame["procs"]), frame["ts"])
        if self.sink is not None:
            self.sink.record_metrics(hs.host, metrics, frame["ts"])
        if self.engine is not None:
            events.extend(self.engine.on_sample(hs.host, metrics, hs.labels, now, alive=alive))

    def push(self, host: str, metrics: dict[str, float], labels: dict[str, str] | None,
             now: float) -> tuple[dict[str, Any], Out]:
        """Metrics pushed by someone other than an agent (``monitor-ctl push``). Validated
        as a metrics frame; never touches the agent's identity (boot, seq: no restart, no
        gap) nor, for a host with an agent, its liveness (a push is no sign of life of the
        agent: host_down still fires). Raises ProtocolError or LimitExceeded."""
        frame = protocol.metrics_frame(host, "push", "push", 0, now, metrics, labels)
        if reason := protocol.validate(frame, now):
            raise ProtocolError(reason)
        self.state.check(frame, probation=False)
        hs, notes = self.state.touch_push(frame)
        if self.engine is not None:
            self.engine.set_origin(host, "push", "push", hs.pushes)
        out: Out = []
        events: list[Event] = []
        if notes:
            events.extend(self._host_notes(hs, notes, now, out))
        self._metrics(hs, frame, now, events, alive=not hs.agent)
        frame["push"] = True
        out.append(("publish", frame))
        out.extend(("emit", event) for event in events)
        return {"host": host, "metrics": len(metrics), "agent": bool(hs.agent)}, out

    def _host_notes(self, hs: HostRecord, notes: list[str], now: float, out: Out
                    ) -> list[Event]:
        events = []
        if "new" in notes:
            events.append(make_event("host.up", f"host {hs.host} joined", ts=now,
                                     host=hs.host, data={"agent": hs.agent}))
        elif "up" in notes:
            events.append(make_event("host.up", f"host {hs.host} is reporting again", ts=now,
                                     host=hs.host))
        if "restart" in notes:
            events.append(make_event("host.restart", f"agent on {hs.host} restarted", ts=now,
                                     host=hs.host, data={"boot": hs.boot}))
        if "new" in notes or "up" in notes:
            out.append(("publish", protocol.host_frame(hs.host, "up", now, hs.info)))
        return events

    def reject(self, reason: str, parts: list[bytes], now: float) -> Out:
        """Count a refused frame; say so as an event, at most REJECT_EVENTS_PER_S a second."""
        self.rejected[_category(reason)] += 1
        second, spent = self._reject_budget
        if int(now) != second:
            second, spent = int(now), 0
        if spent >= REJECT_EVENTS_PER_S:
            self._reject_suppressed += 1
            self._reject_budget = (second, spent)
            return []
        self._reject_budget = (second, spent + 1)
        size = sum(len(p) for p in parts)
        data = {"reason": reason, "bytes": size, "suppressed": self._reject_suppressed}
        self._reject_suppressed = 0
        log.warning("ingest rejected a %d byte frame: %s", size, reason)
        return [("emit", make_event("ingest.rejected", f"rejected frame: {reason}", ts=now,
                                    severity="warning", data=data))]

    def _spend(self, host: str, now: float) -> bool:
        """Take a token from ``host``'s bucket for one stored event; False: over budget."""
        b = self.buckets.get(host)
        lim = self.limits
        if b is None:
            b = self.buckets[host] = [lim.events_burst, now, 0.0, -DROP_REPORT_S]
        b[0] = min(lim.events_burst, b[0] + (now - b[1]) * lim.events_per_s)
        b[1] = now
        if b[0] >= 1.0:
            b[0] -= 1.0
            return True
        b[2] += 1
        self.dropped += 1
        hs = self.state.hosts.get(host)
        if hs is not None:
            hs.dropped += 1
        return False

    def forget(self, host: str, now: float, why: str) -> Out:
        """Drop a host everywhere (``monitor-ctl forget``, host_expire), with an event."""
        hs = self.state.forget(host)
        self.lanes.drop(host)
        known = self.engine is not None and self.engine.knows(host)
        if hs is None and not known:
            raise KeyError(f"no host named '{host}'")
        self.buckets.pop(host, None)
        out: Out = [("publish", protocol.host_frame(host, "forgotten", now, {}))]
        if self.engine is not None:
            out.extend(("emit", e) for e in self.engine.forget(host, now, why))
        seen = hs.last_seen if hs is not None else None  # a paired broker compares it
        out.append(("emit", make_event("host.forgotten", f"host {host} forgotten: {why}",
                                       ts=now, host=host, data={"reason": why,
                                                                "last_seen": seen})))
        return out

    def _housekeeping(self, now: float) -> Out:
        out: Out = []
        for host, b in self.buckets.items():
            if b[2] and now - b[3] >= DROP_REPORT_S:
                out.append(("emit", make_event(
                    "ingest.dropped", f"{host}: {b[2]:.0f} log lines over its budget of "
                    f"{self.limits.events_per_s:g}/s dropped", ts=now, host=host,
                    severity="warning", data={"dropped": int(b[2])})))
                b[2], b[3] = 0.0, now
        expire = self.limits.host_expire
        if expire > 0 and now - self._expired_at >= EXPIRE_EVERY_S:
            self._expired_at = now
            gone = {h for h, hs in self.state.hosts.items() if now - hs.last_seen > expire}
            if self.engine is not None:
                gone |= set(self.engine.silent_hosts(now, expire))
            for host in sorted(gone):
                out += self.forget(host, now, f"silent for over {expire / 86400:g} days "
                                              "(host_expire)")
        return out

    def tick(self, now: float, digest: bool = True) -> Out:
        """The 1 s tick: hosts gone silent are marked down, then the engine's timers run;
        then the fleet digest, unless ``digest`` is False (no client subscribes to it: at
        10,000 hosts it is most of the tick's cost)."""
        out: Out = self._housekeeping(now)
        seen_by = self.seen_by(now)
        for hs in list(self.state.hosts.values()):
            # a push-only host (no agent) is never "down": its pushes may be hours apart
            if hs.status == "up" and hs.agent and seen_by - hs.last_seen > self.host_timeout:
                self.state.mark_down(hs.host)
                out.append(("publish", protocol.host_frame(hs.host, "down", now, hs.info)))
                out.append(("emit", make_event(
                    "host.down", f"host {hs.host} silent for {now - hs.last_seen:.0f}s",
                    ts=now, host=hs.host, severity="warning",
                    data={"last_seen": hs.last_seen})))
        if self.engine is not None:
            out.extend(("emit", event) for event in self.engine.tick(now, seen_by))
        self.digests.follow(digest)
        if digest:
            out.append(("publish", self.digest(now)))
        return out

    def seen_by(self, now: float) -> float:
        """The moment a host's silence is judged at: when the loop last found the ingest
        socket empty, not ``now``. While the broker works through a backlog (10,000 hosts
        joining at once, a burst after a restart), the frames it has not read yet are not
        the hosts' silence. Behind for over ``BEHIND_LIMIT`` it judges at ``now`` again."""
        if self.caught_up is None:  # no loop (tests of the handler alone)
            return now
        return min(now, max(self.caught_up, now - BEHIND_LIMIT))

    def behind(self, now: float) -> float:
        """Seconds since the loop last had read every frame sent (0 when caught up)."""
        return 0.0 if self.caught_up is None else max(0.0, now - self.caught_up)

    def digest(self, now: float) -> dict[str, Any]:
        """The fleet digest frame (core/digest.py) of the state as it is now."""
        alerts = self.engine.active_counts() if self.engine is not None else {}
        return protocol.digest_frame(self.digests.build(self.state, alerts, now), now)


def _category(reason: str) -> str:
    """A reason with its names and numbers blanked, so counters stay few and stable."""
    text = re.sub(r"'[^']*'", "'*'", reason.split(": ", 1)[0] if reason.startswith("bad msgpack")
                  else reason)
    return re.sub(r"[+-]?\d+(\.\d+)?", "N", text)[:100]
