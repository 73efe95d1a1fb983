"""A broker pair: replication lag, exactly-once paging through kills and failing receivers,
and what a peer costs.

    python -m bench.bench_cluster [--changes 300] [--alerts 1000] [--seconds 15] [--json F]

1. Replication lag: acks and silences made on broker a, timed from their hybrid-clock
   stamp to their arrival on b by b itself (``monitor-ctl cluster``), p50/p99; ceiling: a
   bare DEALER -> ROUTER request/reply on loopback in the same run.
2. Paging: a pair with one webhook receiver; ``--alerts`` alerts fire and resolve through
   both brokers while one broker is killed (-9) and restarted at random and the receiver
   answers 500 at random. Counts, per (alert, status), the distinct Idempotency-Keys that
   reached the receiver with a 2xx: 1 is right, 0 is a loss, 2+ a duplicate; resends of the
   same key are counted apart.
   Then one alert while the receiver answers 500 for 20 s: how many messages it gets.
3. The cost of a peer: broker CPU over ``--seconds`` with 200 simulated hosts, alone and
   paired.
4. What a broker without peers pays for the cluster: process CPU per alert change with
   1,000 alerts opening and closing (in-process, store on), with the cluster member hooked
   in as shipped and unhooked altogether (the floor), and the replica it saves.

Prints figures and ratios; never asserts.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import psutil
import zmq

from bench.cluster_rig import ceiling_rtt, fixed, pair, pct
from core import protocol
from core.client import ControlClient
from tests.notify_servers import Recorder
from tests.procs import Broker, start_agent, stop_proc, wait_for

DEBUG = False


def replication(tmp: Path, changes: int) -> dict[str, Any]:
    a, b = pair(tmp)
    try:
        with ControlClient(a.endpoints["control"], timeout=5) as c:
            alert = c.request("simulate", name="disk_full", host="db-1")["alert_ids"][0]
            wait_for(lambda: any(x["id"] == alert for x in b.ctl_json("alerts")), timeout=5)
            for i in range(changes):
                if i % 2:
                    c.request("silence", matchers=[f"host=h{i}"], duration="1h")
                else:
                    c.request("ack" if i % 4 == 0 else "unack", alert_id=alert)
        wait_for(lambda: b.ctl_json("cluster")["lag"].get("a", {}).get("samples", 0)
                 >= min(changes, 200), timeout=20, what="every change on b")
        return b.ctl_json("cluster")["lag"]["a"]
    finally:
        b.stop()
        a.stop()


def paging(tmp: Path, alerts: int, seed: int = 7) -> dict[str, Any]:
    """Like agents publishing to both brokers: every host's current value is sent every
    0.5 s. Hosts go to 90 in batches (their alerts fire), then all to 10 (they resolve),
    while brokers are killed and restarted and the receiver fails now and then."""
    rng = random.Random(seed)
    hook = Recorder(codes=[])
    a, b = pair(tmp, hook.url)
    brokers = {"a": a, "b": b}
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    for x in brokers.values():
        pub.connect(x.endpoints["ingest"])
    hosts = [f"pay-{i:04d}" for i in range(alerts)]
    value = {h: 10.0 for h in hosts}
    lock = threading.Lock()
    stop = threading.Event()
    kills = 0

    def agents() -> None:
        seq = 0
        while not stop.is_set():
            with lock:
                now, items = time.time(), list(value.items())
            for host, v in items:
                seq += 1
                pub.send_multipart(protocol.encode(protocol.metrics_frame(
                    host, "bench-agent", "boot1", seq, now, {"bench.value": v})))
            stop.wait(0.5)

    def kill_one() -> None:
        nonlocal kills
        name = rng.choice("ab")
        victim = brokers[name]
        victim.proc.kill()
        victim.proc.wait()
        kills += 1
        brokers[name] = fixed(tmp, name, hook.url, victim.ports)  # type: ignore[attr-defined]
        brokers[name].ports = victim.ports  # type: ignore[attr-defined]

    def pages(status: str) -> set[str]:
        got = set()
        for r in list(hook.requests):
            body = json.loads(r["body"])
            if r.get("code", 200) < 300 and body.get("status") == status:
                got |= {al["labels"].get("host") for al in body.get("alerts", [])}
        return got

    sender = threading.Thread(target=agents, daemon=True)
    sender.start()
    started = time.monotonic()
    try:
        time.sleep(2.0)  # every host known to both brokers before anything fires
        batch = max(1, alerts // 20)
        for i in range(0, alerts, batch):
            with lock:
                value.update({h: 90.0 for h in hosts[i:i + batch]})
            if rng.random() < 0.3:
                hook.codes.extend([500] * rng.randint(1, 4))  # the receiver fails a while
            if i and i % (batch * 7) == 0:
                kill_one()  # kill -9 a broker, restart it on the same data dir
            time.sleep(0.25)
        patience = max(90.0, alerts * 0.3)
        wait_for(lambda: len(pages("firing")) >= alerts, timeout=patience,
                 what="every FIRING page")
        with lock:
            value.update({h: 10.0 for h in hosts})
        kill_one()
        wait_for(lambda: len(pages("resolved")) >= alerts, timeout=patience,
                 what="every RESOLVED page")
    except AssertionError as exc:
        print(f"  (stopped waiting: {exc})")
    finally:
        elapsed = time.monotonic() - started
        rows = {name: x.ctl_json("notifications", "--limit", "1000") for name, x in
                brokers.items()} if DEBUG else {}
        stop.set()
        sender.join(5)
        pub.close(0)
        ctx.term()
        for x in brokers.values():
            x.stop()
    keys: dict[tuple[str, str], set[str]] = defaultdict(set)
    resends: Counter[str] = Counter()
    for r in hook.requests:
        if r.get("code", 200) >= 300:
            continue
        body = json.loads(r["body"])
        key = r["headers"].get("idempotency-key", "")
        resends[key] += 1
        for al in body.get("alerts", []):
            keys[(al["labels"].get("host", ""), body.get("status", ""))].add(key)
    expected = [(h, s) for h in hosts for s in ("firing", "resolved")]
    lost = sum(1 for k in expected if not keys.get(k))
    dup = sum(1 for k in expected if len(keys.get(k, ())) > 1)
    for k in [k for k in expected if len(keys.get(k, ())) != 1][:3]:
        print(f"  {'duplicate' if keys.get(k) else 'lost'} {k}: keys {sorted(keys.get(k, ()))}")
        for name, rs in rows.items():
            print("   ", name, [(r["id"][:8], r["status"], r.get("error", "")[:30])
                             for r in rs if k[0] in r["summary"] and k[1] in r["summary"].lower()])
    return {"alerts": alerts, "pages_expected": len(expected), "lost": lost,
            "duplicates": dup, "same_key_resends": sum(n - 1 for n in resends.values() if n > 1),
            "broker_kills": kills, "receiver_500s": sum(1 for r in hook.requests
                                                        if r.get("code", 200) >= 500),
            "seconds": round(elapsed, 1)}


def outage(tmp: Path, seconds: float = 20.0) -> dict[str, Any]:
    """One alert fires on a pair while the receiver answers 500 for ``seconds`` (several
    claim leases), then recovers: how many messages reach it (Alertmanager #4108: one per
    peer)."""
    hook = Recorder(codes=[500] * 1_000_000)
    a, b = pair(tmp, hook.url)
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    for x in (a, b):
        pub.connect(x.endpoints["ingest"])
    seq = 0

    def sample() -> None:
        nonlocal seq
        seq += 1
        pub.send_multipart(protocol.encode(protocol.metrics_frame(
            "out-1", "bench-agent", "boot1", seq, time.time(), {"bench.value": 90.0})))

    def settled() -> bool:
        rows = [r["status"] for x in (a, b) for r in x.ask("notifications")]
        return len(rows) == 2 and not {"pending", "retrying", "sending"} & set(rows)
    try:
        wait_for(lambda: hook.requests or sample(), timeout=20, what="the first attempt")
        refused_until = time.monotonic() + seconds
        while time.monotonic() < refused_until:
            sample()
            time.sleep(0.5)
        hook.codes.clear()
        wait_for(lambda: any(r["code"] < 300 for r in list(hook.requests)), timeout=30,
                 what="the delivery")
        wait_for(settled, timeout=30, what="both brokers' rows to settle")
    finally:
        pub.close(0)
        ctx.term()
        b.stop()
        a.stop()
    ok = [r for r in hook.requests if r["code"] < 300]
    return {"outage_s": seconds, "refused_attempts": len(hook.requests) - len(ok),
            "deliveries": len(ok),
            "keys": len({r["headers"].get("idempotency-key") for r in hook.requests})}


def cpu_share(broker: Broker, seconds: float) -> float:
    p = psutil.Process(broker.proc.pid)
    t0, c0 = time.monotonic(), sum(p.cpu_times()[:2])
    time.sleep(seconds)
    return (sum(p.cpu_times()[:2]) - c0) / (time.monotonic() - t0)


def peer_cost(tmp: Path, seconds: float) -> dict[str, float]:
    tmp.mkdir(parents=True, exist_ok=True)
    alone = Broker(tmp / "alone")
    agent = start_agent(alone.endpoints["ingest"], "--simulate", "200")
    try:
        time.sleep(3)
        solo = cpu_share(alone, seconds)
    finally:
        stop_proc(agent)
        alone.stop()
    a, b = pair(tmp / "paired")
    agent = start_agent(a.endpoints["ingest"], "--ingest", b.endpoints["ingest"],
                        "--simulate", "200")
    try:
        time.sleep(3)
        paired = cpu_share(a, seconds)
    finally:
        stop_proc(agent)
        b.stop()
        a.stop()
    return {"alone_core_share": round(solo, 3), "paired_core_share": round(paired, 3),
            "ratio": round(paired / solo, 2) if solo else float("nan")}


def lone_cost(tmp: Path, hosts: int = 1000, rounds: int = 30, cluster: bool = True
              ) -> dict[str, float]:
    """A broker without peers, in-process, store on: ``hosts`` alerts open and close
    ``rounds`` times (every frame changes an alert). Process CPU per alert change (core,
    store and cluster bookkeeping) and what the replica holds and saves. ``cluster=False``
    unhooks the cluster member altogether: the floor to compare with."""
    from broker.system import MonitoringSystem

    rule = {"name": "lone_high", "kind": "threshold", "metric": "bench.value", "op": ">",
            "critical": 50.0, "for": "0s"}
    ms = MonitoringSystem(tmp / "lone", config={"rule": [rule]},
                          endpoints={k: "tcp://127.0.0.1:*"
                                     for k in ("ingest", "publish", "control")}).start()
    try:
        core = ms.core
        assert core is not None
        if not cluster:
            core.listeners.remove(ms.member.node.on_event)  # type: ignore[union-attr]
            ms.member.dump = lambda: None  # type: ignore[method-assign]
        now, seq = time.time(), 0
        batches = []
        for r in range(rounds):
            batch = []
            for i in range(hosts):
                seq += 1
                batch.append(protocol.encode(protocol.metrics_frame(
                    f"lone-{i:05d}", "bench", "boot", seq, now + r,
                    {"bench.value": 90.0 if r % 2 == 0 else 10.0})))
            batches.append(batch)
        proc = psutil.Process()
        c0 = sum(proc.cpu_times()[:2])
        def feed(batch: list[list[bytes]]) -> None:
            for frame in batch:
                core.ingest(frame)
        for batch in batches:
            core.call(functools.partial(feed, batch), timeout=120)
        core.call(lambda: None)  # the change hooks of the last turn have run
        cpu = sum(proc.cpu_times()[:2]) - c0
        dump = ms.member.dump() or []
    finally:
        ms.stop()
    return {"alert_changes": hosts * rounds, "cpu_us_per_change": round(cpu / (hosts * rounds)
                                                                        * 1e6, 1),
            "replica_entries": len(dump), "replica_saved_bytes": len(protocol.pack(dump))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=300)
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rtt = ceiling_rtt()
        out["ceiling_rtt_ms"] = {"p50": round(statistics.median(rtt), 3),
                                 "p99": round(pct(rtt, 0.99), 3)}
        out["replication_lag_ms"] = replication(tmp / "rep", args.changes)
        lag = out["replication_lag_ms"]
        print(f"replication lag a -> b over {lag['samples']} changes: p50 {lag['p50_ms']} ms, "
              f"p99 {lag['p99_ms']} ms; ceiling (bare DEALER/ROUTER round trip) p50 "
              f"{out['ceiling_rtt_ms']['p50']} ms, p99 {out['ceiling_rtt_ms']['p99']} ms "
              f"(p50 ratio {lag['p50_ms'] / max(out['ceiling_rtt_ms']['p50'], 1e-6):.1f})")
        out["paging"] = paging(tmp / "pages", args.alerts)
        pg = out["paging"]
        print(f"paging: {pg['pages_expected']} pages expected over {pg['seconds']} s with "
              f"{pg['broker_kills']} broker kills and {pg['receiver_500s']} receiver 500s: "
              f"{pg['lost']} lost, {pg['duplicates']} duplicated, "
              f"{pg['same_key_resends']} resends under the same key")
        out["outage"] = og = outage(tmp / "outage")
        print(f"receiver down {og['outage_s']:g} s: {og['refused_attempts']} refused attempts, "
              f"then {og['deliveries']} delivery(ies); {og['keys']} Idempotency-Key(s) in all")
        out["peer_cost"] = peer_cost(tmp / "cost", args.seconds)
        pc = out["peer_cost"]
        print(f"broker CPU with 200 hosts at 1 Hz: alone {pc['alone_core_share']:.1%} of a "
              f"core, paired {pc['paired_core_share']:.1%} (ratio {pc['ratio']})")
        lone = [lone_cost(tmp / f"lone{i}", cluster=c) for i in range(2) for c in (True, False)]
        out["lone_cost"] = lone
        cl = min(x["cpu_us_per_change"] for x in lone[0::2])
        floor = min(x["cpu_us_per_change"] for x in lone[1::2])
        print(f"a broker without peers: {cl} us of CPU per alert change with the cluster "
              f"member, {floor} us without it (ratio {cl / floor:.2f}); replica saved: "
              f"{lone[0]['replica_entries']} entries, {lone[0]['replica_saved_bytes']} bytes")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
