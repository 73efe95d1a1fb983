"""One slice of a simulated fleet at 1 Hz, cheap enough that a few processes drive 10,000+
hosts on this machine (``monitor-agent --simulate`` tops out near 5,000 frames/s).

    python -m bench.fleet_driver --ingest EP --hosts N [--slice I/K] [--seed S]

The values are the fleet simulator's own (agents/simulate.py, every host sampled every
second: walks, waves, spikes, scripted incidents), so every frame is a valid, varied
metrics frame that the broker fully processes. What is cheaper than the agent: no queue
and thread between sampling and the socket, and each frame's constant head (version,
kind, host, agent id, boot) packed once per host; ``seq``, ``ts`` and the metrics are
packed per frame. At start the bytes are checked equal to ``protocol.encode`` of the same
frame. A hello per host at start and every minute, as the agent does. Each second's
frames go out in 20 chunks, 50 ms apart (agents are not synchronised).

Prints ``ready <hosts>``; then, for every line read on stdin, ``{"sent": n, "dropped": m}``
(the line ``stop`` stops the sending first: the counts are then final).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import msgpack
import zmq

from agents.agent import stable_agent_id
from agents.simulate import FleetSimulator
from core import protocol

CHUNKS = 20
HELLO_EVERY = 60.0


def heads(hosts: list[str], boot: str) -> dict[str, tuple[bytes, bytes]]:
    """host -> (topic, the packed map header and fields up to the ``seq`` key)."""
    out = {}
    for host in hosts:
        head = b"\x88" + b"".join(msgpack.packb(x) for x in (
            "v", protocol.VERSION, "kind", "metrics", "host", host, "agent",
            stable_agent_id(host), "boot", boot, "seq"))
        topic = protocol.topic_for(protocol.metrics_frame(host, "a", boot, 0, 0.0, {"x": 1}))
        out[host] = (topic, head)
    return out


TS, METRICS = msgpack.packb("ts"), msgpack.packb("metrics")


def encode(head: bytes, seq: int, ts: float, metrics: dict[str, float]) -> bytes:
    return b"".join((head, msgpack.packb(seq), TS, msgpack.packb(ts), METRICS,
                     msgpack.packb(metrics)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest", required=True)
    ap.add_argument("--hosts", type=int, required=True, help="the whole fleet's size")
    ap.add_argument("--slice", default="0/1", help="I/K: this process's share, I of K")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    i, k = (int(x) for x in args.slice.split("/"))
    if not (args.hosts > 0 and 0 <= i < k):
        sys.exit(f"fleet_driver: --hosts {args.hosts} --slice {args.slice}: bad slice")
    sim = FleetSimulator(args.hosts, seed=args.seed, start_ts=time.time())
    sim.keep(args.hosts * i // k, args.hosts * (i + 1) // k)
    boot = os.urandom(6).hex()
    head = heads(sim.hosts, boot)
    probe = protocol.metrics_frame(sim.hosts[0], stable_agent_id(sim.hosts[0]), boot, 7,
                                   123.5, {"cpu.percent": 1.5})
    assert [head[probe["host"]][0], encode(head[probe["host"]][1], 7, 123.5,
                                           {"cpu.percent": 1.5})] == protocol.encode(probe)
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 200_000)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(args.ingest)
    counts = {"sent": 0, "dropped": 0}
    stop = threading.Event()

    halted, printed = threading.Event(), threading.Event()

    def report() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                stop.set()
                halted.wait(10)  # the sending loop has ended: the counts are final
            print(json.dumps(counts), flush=True)
            if stop.is_set():
                break
        stop.set()
        printed.set()
    threading.Thread(target=report, daemon=True).start()
    print("ready", len(sim.hosts), flush=True)
    seq, hello_at = 0, -HELLO_EVERY
    next_at = time.monotonic()
    while not stop.is_set():
        now = time.time()
        frames: list[tuple[bytes, bytes]] = []
        if time.monotonic() - hello_at >= HELLO_EVERY:
            hello_at = time.monotonic()
            for host in sim.hosts:
                f = protocol.hello_frame(host, stable_agent_id(host), boot, seq, now,
                                         sim.host_info(host) | {"simulated": True})
                frames.append((protocol.topic_for(f), protocol.pack(f)))
            seq += 1
        frames.extend((head[h][0], encode(head[h][1], seq, now, m)) for h, m in sim.sample(now))
        seq += 1
        per = -(-len(frames) // CHUNKS)
        for c in range(CHUNKS):
            if stop.is_set():
                break
            for topic, payload in frames[c * per:(c + 1) * per]:
                try:
                    pub.send_multipart((topic, payload), zmq.NOBLOCK)
                    counts["sent"] += 1
                except zmq.Again:
                    counts["dropped"] += 1
            delay = next_at + (c + 1) / CHUNKS - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the chunks, not a test wait
        next_at += 1.0
        if next_at < time.monotonic():  # fell behind: skip, do not burst
            next_at = time.monotonic()
    halted.set()
    printed.wait(10)
    pub.close()
    ctx.term()


if __name__ == "__main__":
    main()
