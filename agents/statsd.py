"""A StatsD / DogStatsD UDP listener: applications send, the agent aggregates and publishes.

Line format ``name:value|type[|@rate][|#tag:v,tag2]`` (several lines per datagram):

* ``c`` counter: summed over the flush interval, scaled by 1/rate; published as
  ``<prefix><name>.count`` (per interval) and ``.rate`` (per second);
* ``g`` gauge: the last value (``+N``/``-N`` adjust it); kept across intervals;
* ``ms``, ``h``, ``d`` timer/histogram/distribution: ``.count``, ``.sum``, ``.min``,
  ``.max``, ``.mean``, ``.p50``, ``.p90``, ``.p99`` of the interval's values;
* ``s`` set: ``.unique``, the distinct values seen in the interval.

DogStatsD tags become part of the name, Prometheus-style: ``api.hits{route="/x"}``.
Malformed lines are counted (``<prefix>statsd.bad_lines`` each flush) and reported as one
warning event per flush with the first bad line, never a crash. Binds loopback by default.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65535
MAX_SERIES = 2000  # per flush: the rest is counted as dropped
TIMER_TYPES = ("ms", "h", "d")


class StatsdError(ValueError):
    pass


def parse_line(line: str) -> tuple[str, float, str, float, str]:
    """(name, value, type, rate, raw value text); raises StatsdError naming the problem."""
    name, sep, rest = line.partition(":")
    if not sep or not name or any(c.isspace() for c in name):
        raise StatsdError(f"no 'name:' in {line[:80]!r}")
    parts = rest.split("|")
    if len(parts) < 2:
        raise StatsdError(f"no '|type' in {line[:80]!r}")
    raw, typ = parts[0], parts[1]
    if typ not in ("c", "g", "s", *TIMER_TYPES):
        raise StatsdError(f"unknown type {typ!r} in {line[:80]!r}")
    rate, tags = 1.0, ""
    for extra in parts[2:]:
        if extra.startswith("@"):
            try:
                rate = float(extra[1:])
            except ValueError:
                raise StatsdError(f"bad sample rate {extra!r}") from None
            if not 0 < rate <= 1:
                raise StatsdError(f"sample rate {extra!r} out of (0, 1]")
        elif extra.startswith("#"):
            tags = extra[1:]
    if typ == "s":
        value = 0.0
    else:
        try:
            value = float(raw)
        except ValueError:
            raise StatsdError(f"value {raw!r} is not a number") from None
        if not math.isfinite(value):
            raise StatsdError(f"value {raw!r} is not finite")
    if tags:
        pairs = sorted(t.partition(":") for t in tags.split(",") if t)
        name += "{" + ",".join(f'{k}="{v}"' for k, _, v in pairs) + "}"
    return name, value, typ, rate, raw


def _pct(sorted_vals: list[float], q: float) -> float:
    return sorted_vals[min(len(sorted_vals) - 1, int(math.ceil(q * len(sorted_vals))) - 1)]


class Aggregator:
    """Lines in, one map of metrics per flush out. Not thread-safe: one listener thread."""

    def __init__(self, prefix: str = "statsd.") -> None:
        self.prefix = prefix
        self.counters: dict[str, float] = {}
        self.gauges: dict[str, float] = {}
        self.timers: dict[str, list[float]] = {}
        self.sets: dict[str, set[str]] = {}
        self.bad = 0
        self.first_bad = ""
        self.dropped = 0

    def feed(self, datagram: bytes) -> None:
        for line in datagram.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                name, value, typ, rate, raw = parse_line(line)
            except StatsdError as exc:
                self.bad += 1
                self.first_bad = self.first_bad or str(exc)
                continue
            if self._full(name):
                self.dropped += 1
            elif typ == "c":
                self.counters[name] = self.counters.get(name, 0.0) + value / rate
            elif typ == "g":
                if raw[:1] in "+-":
                    value = self.gauges.get(name, 0.0) + value
                self.gauges[name] = value
            elif typ == "s":
                self.sets.setdefault(name, set()).add(raw)
            else:
                self.timers.setdefault(name, []).append(value)

    def _full(self, name: str) -> bool:
        n = len(self.counters) + len(self.gauges) + len(self.timers) + len(self.sets)
        return n >= MAX_SERIES and not (name in self.counters or name in self.gauges
                                        or name in self.timers or name in self.sets)

    def flush(self, elapsed: float) -> dict[str, float]:
        p, out = self.prefix, {}
        for name, total in self.counters.items():
            out[f"{p}{name}.count"] = total
            out[f"{p}{name}.rate"] = total / elapsed if elapsed > 0 else 0.0
        for name, v in self.gauges.items():
            out[f"{p}{name}"] = v
        for name, vals in self.timers.items():
            vals.sort()
            out.update({f"{p}{name}.count": float(len(vals)), f"{p}{name}.sum": sum(vals),
                        f"{p}{name}.min": vals[0], f"{p}{name}.max": vals[-1],
                        f"{p}{name}.mean": sum(vals) / len(vals),
                        f"{p}{name}.p50": _pct(vals, 0.5), f"{p}{name}.p90": _pct(vals, 0.9),
                        f"{p}{name}.p99": _pct(vals, 0.99)})
        for name, members in self.sets.items():
            out[f"{p}{name}.unique"] = float(len(members))
        out[f"{p}statsd.bad_lines"] = float(self.bad)
        out[f"{p}statsd.dropped"] = float(self.dropped)
        self.counters, self.timers, self.sets = {}, {}, {}
        return {k: v for k, v in out.items() if math.isfinite(v)}


class StatsdListener:
    """The agent child: receive datagrams, publish an aggregate every ``flush`` seconds."""

    def __init__(self, listen: str, flush: float, publish: Callable[[dict[str, float]], None],
                 event: Callable[[str, str, str], None], prefix: str = "statsd.") -> None:
        host, _, port = listen.rpartition(":")
        self.addr = (host or "127.0.0.1", int(port))
        self.flush_every = flush
        self.publish, self.event = publish, event
        self.agg = Aggregator(prefix)
        self.bound: tuple[str, int] | None = None
        self.ready = threading.Event()

    def run(self, stop: threading.Event) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.addr[0] else socket.AF_INET,
                             socket.SOCK_DGRAM)
        try:
            sock.bind(self.addr)
            self.bound = sock.getsockname()[:2]
            self.ready.set()
            sock.settimeout(0.2)
            last = time.monotonic()
            while not stop.is_set():
                try:
                    self.agg.feed(sock.recv(MAX_DATAGRAM))
                except TimeoutError:
                    pass
                now = time.monotonic()
                if now - last >= self.flush_every:
                    self._flush(now - last)
                    last = now
        finally:
            sock.close()

    def _flush(self, elapsed: float) -> None:
        bad, first = self.agg.bad, self.agg.first_bad
        self.publish(self.agg.flush(elapsed))
        if bad:
            self.event("warning", f"statsd: {bad} malformed line(s) in the last "
                                  f"{elapsed:.0f}s, first: {first}", "statsd")
        self.agg.bad, self.agg.first_bad = 0, ""

