"""Bytes per host and per series held by the broker's in-memory parts, measured.

    python -m bench.bench_memory [--hosts 300] [--seconds 180] [--series 55]

A simulated fleet (agents/simulate.py, 21 metrics a host; ``--series 55``: padded to the
series of monitor-agent on a 2-core VM with 4 network interfaces, as in
tests/unit/test_host_caps.py: per-core CPU, 7 series a NIC, the rest) is fed at 1 Hz of simulated time
into each part on its own, under tracemalloc, long enough that every bounded buffer is
full (the 120-row history, the 2-minute windows; the engine, on 40 hosts, for 61 minutes:
the forecast rule's 1 h trend): the ingest state (broker/ingest/state.py:
latest values, the history ring, identity), the alert engine with the default rules, and
the store's open rollups (the minute bucket; hours are folded in when a minute closes).
Each frame is decoded inside the traced section, as the broker does, so the float objects
a part keeps are counted. The ceiling is the payload itself: the msgpack bytes of one
frame per host. Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from core import protocol

NIC_SERIES = ("dropin_ps", "errin_ps", "errout_ps", "rx_bps", "rx_pps", "tx_bps", "tx_pps")
AGENT_EXTRA = ("cpu.steal", "cpu.0.percent", "cpu.1.percent",
               *(f"net.eth0.{k}" for k in NIC_SERIES),
               *(f"net.if{i}.{k}" for i in range(1, 4) for k in NIC_SERIES))


def agent_like(metrics: dict[str, float], series: int) -> dict[str, float]:
    """The simulator's metrics padded to ``series`` names the way a real agent's are (the
    extra values follow the host's CPU, so they vary as real ones do)."""
    if series <= len(metrics):
        return metrics
    out = dict(metrics)
    cpu = metrics["cpu.percent"]
    names = [*AGENT_EXTRA, *(f"misc.m{i}" for i in range(series))]
    for i, name in enumerate(n for n in names if n not in metrics):
        if len(out) >= series:
            break
        out[name] = 0.0 if "err" in name or "drop" in name else cpu * (i + 1) * 1.5
    return out


def fleet(hosts: int, seconds: int, series: int = 0) -> list[list[tuple[str, bytes]]]:
    """``seconds`` rounds of one packed metrics frame per host."""
    from agents.simulate import FleetSimulator

    start = time.time() - seconds
    sim = FleetSimulator(hosts, seed=3, start_ts=start, incidents=False)
    return [[(host, protocol.pack(agent_like(metrics, series)))
             for host, metrics in sim.sample(start + s)] for s in range(seconds)]


def traced(rounds: list[list[tuple[str, bytes]]], make: Callable[[], Any],
           feed: Callable[[Any, str, dict[str, float], float], None]) -> tuple[int, Any]:
    """Bytes still allocated after feeding every round into a fresh part, and the part."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    part = make()
    t0 = time.time() - len(rounds)
    for s, frames in enumerate(rounds):
        for host, payload in frames:
            feed(part, host, protocol.unpack(payload), t0 + s)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return used, part


def measure(hosts: int, seconds: int, engine_hosts: int = 40, series: int = 0
            ) -> dict[str, Any]:
    """Bytes per host of each part (state, rollups, engine) and of one packed frame."""
    from broker.alerting.engine import AlertEngine
    from broker.ingest.state import State
    from broker.store.rollups import Rollups

    rounds = fleet(hosts, seconds, series)
    total = sum(len(protocol.unpack(p)) for _, p in rounds[-1])
    last_host = rounds[-1][-1][0]

    def feed_state(st: State, host: str, metrics: dict[str, float], ts: float) -> None:
        frame = {"host": host, "agent": host, "boot": "b", "seq": int(ts), "ts": ts}
        hs, _ = st.touch(frame)
        st.apply_metrics(hs, metrics, None)

    def feed_engine(engine: AlertEngine, host: str, metrics: dict[str, float],
                    ts: float) -> None:
        engine.on_sample(host, metrics, None, ts)

    def feed_rollups(r: Rollups, host: str, metrics: dict[str, float], ts: float) -> None:
        r.add(host, metrics, ts)
        if host == last_host:  # the store's writer takes closed buckets 10 times a second
            r.take_closed(ts)

    out: dict[str, Any] = {"hosts": hosts, "series": total, "seconds": seconds}
    for name, make, feed in (("state", State, feed_state), ("rollups", Rollups, feed_rollups)):
        used, _ = traced(rounds, make, feed)
        out[name] = used / hosts
    # the forecast rule keeps a 1 h trend: the engine is fed 1 h 1 min, on fewer hosts
    few = max(1, min(hosts, engine_hosts))
    used, _ = traced(fleet(few, 3660, series), AlertEngine, feed_engine)
    out["engine"] = used / few
    out["payload"] = sum(len(p) for _, p in rounds[-1]) / hosts
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=300)
    ap.add_argument("--seconds", type=int, default=180,
                    help="simulated seconds at 1 Hz (default 180: every buffer full)")
    ap.add_argument("--series", type=int, default=0,
                    help="pad each host's frame to this many series, as a real agent's "
                         "(55: a 2-core VM with 4 network interfaces)")
    args = ap.parse_args()
    m = measure(args.hosts, args.seconds, series=args.series)
    hosts, series = m["hosts"], m["series"]
    print(f"{hosts} hosts, {series} series ({series / hosts:.0f} a host), "
          f"{m['seconds']} s at 1 Hz")
    print(f"{'part':<10}{'bytes/host':>12}{'bytes/series':>14}{'MB at 10k hosts':>17}")
    per = series / hosts
    total = 0.0
    for name in ("state", "engine", "rollups"):
        b = m[name]
        total += b
        print(f"{name:<10}{b:>12,.0f}{b / per:>14,.0f}{b * 1e4 / 2**20:>17,.0f}")
    print(f"{'total':<10}{total:>12,.0f}{total / per:>14,.0f}{total * 1e4 / 2**20:>17,.0f}")
    print(f"ceiling (one packed frame per host): {m['payload']:,.0f} bytes/host; "
          f"held state is {total / m['payload']:.0f}x that")


if __name__ == "__main__":
    main()
