"""Alert evaluation throughput and per-sample latency, against a ceiling from the same run.

    python -m bench.bench_alerts [--hosts 1000] [--seconds 120]

The engine runs the shipped default rules over ``--hosts`` hosts, each sending one sample
of ~42 realistic metrics per simulated second for ``--seconds`` (2 % of hosts run hot, so
alerts really go pending and fire). Figures printed:

- samples/s through ``AlertEngine.on_sample`` and the per-sample latency p50/p99;
- the ceiling: samples/s of only copying and iterating the same metric dicts (what any
  per-sample Python code must at least pay), and the engine's ratio to it;
- the cost of one 1 s ``tick`` over all hosts.

``engine_throughput()`` returns the figures as a dict for reuse (bench.bench_ingest does the
end-to-end sample -> publish latency). Never asserts.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from broker.alerting.engine import AlertEngine

T0 = 1_700_000_000.0


def host_metrics(rng: random.Random, hot: bool) -> dict[str, float]:
    """One realistic agent sample (the names agents send), ~42 metrics."""
    cpu = rng.uniform(96, 99) if hot else rng.uniform(2, 60)
    m: dict[str, float] = {
        "cpu.percent": cpu, "cpu.user": cpu * 0.7, "cpu.system": cpu * 0.2,
        "cpu.iowait": rng.uniform(0, 3), "cpu.steal": 0.0, "cpu.count": 4.0,
        "mem.percent": rng.uniform(20, 70), "mem.used": 3.2e9, "mem.total": 8e9,
        "mem.available": 4.8e9, "swap.percent": rng.uniform(0, 10),
        "load.1": rng.uniform(0.1, 3.0), "load.5": 1.0, "load.15": 0.9,
        "proc.count": float(rng.randint(120, 300)), "uptime": 86400.0,
    }
    for n in range(4):
        m[f"cpu.{n}.percent"] = rng.uniform(0, 100)
    for mount in ("/", "/var"):
        m[f"disk.{mount}.percent"] = rng.uniform(30, 80)
        m[f"disk.{mount}.used"] = 4e10
        m[f"disk.{mount}.total"] = 1e11
    for key in ("read_bps", "write_bps", "read_iops", "write_iops"):
        m[f"diskio.sda.{key}"] = rng.uniform(0, 1e6)
    for iface in ("eth0", "lo"):
        for key in ("rx_bps", "tx_bps", "rx_pps", "tx_pps"):
            m[f"net.{iface}.{key}"] = rng.uniform(0, 1e6)
        m[f"net.{iface}.errin_ps"] = 0.0
        m[f"net.{iface}.errout_ps"] = 0.0
    return m


def make_fleet(hosts: int, variants: int = 8, seed: int = 7) -> list[tuple[str, list[dict]]]:
    rng = random.Random(seed)
    fleet = []
    for i in range(hosts):
        hot = i % 50 == 0
        fleet.append((f"host-{i:04d}", [host_metrics(rng, hot) for _ in range(variants)]))
    return fleet


def _percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000.0


def ceiling(fleet: list[tuple[str, list[dict]]], seconds: int) -> float:
    """samples/s of copying and iterating each metric dict: the floor cost of any ingest."""
    n = 0
    t0 = time.perf_counter()
    for r in range(seconds):
        for _host, variants in fleet:
            metrics = dict(variants[r % len(variants)])
            for _name, _v in metrics.items():
                pass
            n += 1
    return n / (time.perf_counter() - t0)


def engine_throughput(hosts: int = 1000, seconds: int = 120) -> dict[str, Any]:
    """Run the default rules over ``hosts`` x ``seconds`` samples; return the figures."""
    fleet = make_fleet(hosts)
    engine = AlertEngine()
    lat: list[int] = []
    events = 0
    clock = time.perf_counter_ns
    t_start = time.perf_counter()
    for r in range(seconds):
        now = T0 + r
        for host, variants in fleet:
            metrics = variants[r % len(variants)]
            t = clock()
            events += len(engine.on_sample(host, metrics, None, now + 0.5))
            lat.append(clock() - t)
    elapsed = time.perf_counter() - t_start
    tick_t = time.perf_counter()
    ticks = 20
    for k in range(ticks):
        events += len(engine.tick(T0 + seconds + k * 0.05))
    tick_ms = (time.perf_counter() - tick_t) / ticks * 1000
    lat.sort()
    samples = len(lat)
    ceil = ceiling(fleet, min(seconds, 60))
    rate = samples / elapsed
    return {
        "hosts": hosts, "samples": samples,
        "metrics_per_sample": len(fleet[0][1][0]), "rules": len(engine.rules),
        "samples_per_s": rate, "p50_us": _percentile(lat, 0.50),
        "p99_us": _percentile(lat, 0.99), "max_us": lat[-1] / 1000.0,
        "ceiling_samples_per_s": ceil, "ratio_to_ceiling": rate / ceil,
        "tick_ms": tick_ms, "events": events,
        "firing": sum(1 for a in engine.alerts() if a["state"] == "firing"),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--seconds", type=int, default=120, help="simulated seconds of samples")
    args = p.parse_args(argv)
    r = engine_throughput(args.hosts, args.seconds)
    print(f"alert engine: default rules ({r['rules']}), {r['hosts']} hosts, "
          f"{r['metrics_per_sample']} metrics/sample, {r['samples']} samples")
    print(f"  throughput      {r['samples_per_s']:>12,.0f} samples/s  "
          f"({r['samples_per_s'] * r['metrics_per_sample']:,.0f} metrics/s)")
    print(f"  latency/sample  p50 {r['p50_us']:.1f} us   p99 {r['p99_us']:.1f} us   "
          f"max {r['max_us']:.0f} us")
    print(f"  ceiling         {r['ceiling_samples_per_s']:>12,.0f} samples/s  "
          "(copy + iterate the same dicts)")
    print(f"  ratio           {r['ratio_to_ceiling']:.2f} of the ceiling")
    print(f"  tick            {r['tick_ms']:.2f} ms per 1 s tick over {r['hosts']} hosts")
    print(f"  events          {r['events']} ({r['firing']} alerts firing at the end)")


if __name__ == "__main__":
    main()
