"""A broker pair pages once: claims, leases and take-over, with real processes and a real
HTTP receiver counting distinct Idempotency-Keys."""

from __future__ import annotations

import json
import socket
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from core import protocol
from tests.notify_servers import Recorder
from tests.procs import Broker, stop_all, wait_for

pytestmark = pytest.mark.integration

RULES_AND_HOOK = '''
[cluster]
name = "{name}"
anti_entropy = "1s"
claim_lease = "1s"

[[rule]]
name = "pay_high"
kind = "threshold"
metric = "pay.value"
op = ">"
critical = 50.0
for = "0s"

[[receiver]]
name = "hook"
type = "webhook"
url = "{url}"
retry_initial = "0.15s"
retry_max = "0.3s"

[[route]]
receiver = "hook"
group_by = ["host", "alertname"]
group_wait = "0s"
group_interval = "1s"
'''


def free_ports(n: int) -> list[int]:
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(n)]
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Pair:
    def __init__(self, tmp: Path, hook: Recorder, fixed: bool = False) -> None:
        """``fixed``: each broker on its own ports, naming the other (a restart keeps
        them, as a deployed broker's do); else ephemeral ports, b naming a."""
        self.tmp, self.hook = tmp, hook
        self.ports = {"a": free_ports(3), "b": free_ports(3)} if fixed else {}
        self.a = self.start("a")
        self.b = self.start("b") if fixed else \
            self.start("b", "--peer", self.a.endpoints["control"])
        wait_for(lambda: all(self.peer_up(x) for x in (self.a, self.b)), timeout=10,
                 what="the pair to join")
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        for x in (self.a, self.b):
            self.pub.connect(x.endpoints["ingest"])
        self.seq = 0

    def start(self, name: str, *extra: str, data: str = "") -> Broker:
        cfg = self.tmp / f"{name}.toml"
        cfg.write_text(RULES_AND_HOOK.format(name=name, url=self.hook.url))
        if self.ports:
            (i, p, c), other = self.ports[name], self.ports["b" if name == "a" else "a"][2]
            extra = ("--ingest", f"tcp://127.0.0.1:{i}", "--publish", f"tcp://127.0.0.1:{p}",
                     "--control", f"tcp://127.0.0.1:{c}", "--peer", f"tcp://127.0.0.1:{other}",
                     *extra)
        return Broker(self.tmp / (data or name), "--config", str(cfg), *extra)

    @staticmethod
    def peer_up(x: Broker) -> bool:
        peers = x.ask("cluster")["peers"]
        return bool(peers) and all(p["state"] == "up" for p in peers)

    def send(self, host: str, value: float) -> None:
        """What an agent publishing to both brokers sends: one frame, both sockets."""
        self.seq += 1
        self.pub.send_multipart(protocol.encode(protocol.metrics_frame(
            host, "agent-1", "boot-1", self.seq, time.time(), {"pay.value": value})))

    def fire(self, host: str, value: float = 90.0) -> None:
        """Keep sending until both brokers have the alert in the state wanted (the PUB's
        first frames can be lost while subscriptions reach it: the slow joiner)."""
        want = "firing" if value > 50 else "resolved"

        def there() -> bool:
            self.send(host, value)
            return all(any(al["host"] == host and al["state"] == want
                           for al in x.ask("alerts")) for x in (self.a, self.b))
        wait_for(there, timeout=10, what=f"{host} {want} on both brokers")

    def close(self) -> None:
        self.pub.close(0)
        self.ctx.term()
        stop_all(self.a, self.b)


@pytest.fixture
def hook() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def keys(hook: Recorder, host: str, status: str, ok_only: bool = True) -> dict[str, int]:
    """Idempotency-Key -> times it reached the receiver, for (host, status)."""
    out: dict[str, int] = defaultdict(int)
    for r in list(hook.requests):
        if ok_only and r["code"] >= 300:
            continue
        body = json.loads(r["body"])
        if body.get("status") == status and any(
                al["labels"].get("host") == host for al in body.get("alerts", [])):
            out[r["headers"].get("idempotency-key", "")] += 1
    return dict(out)


def test_a_pair_pages_once_for_firing_and_once_for_resolved(tmp_path: Path,
                                                            hook: Recorder) -> None:
    pair = Pair(tmp_path, hook)
    try:
        pair.fire("pay-1")
        wait_for(lambda: keys(hook, "pay-1", "firing"), timeout=10, what="the FIRING page")
        pair.fire("pay-1", 10.0)
        wait_for(lambda: keys(hook, "pay-1", "resolved"), timeout=10, what="the RESOLVED page")
        # both brokers are done with both rows: one sent, the other closed as 'peer'
        def settled() -> list[Any]:
            rows = [r for x in (pair.a, pair.b) for r in x.ask("notifications")]
            done = [r for r in rows if r["status"] in ("delivered", "peer")]
            return done if len(done) >= 4 else []
        rows = wait_for(settled, timeout=10, what="both brokers' rows to settle")
        assert sorted(r["status"] for r in rows) == ["delivered", "delivered", "peer", "peer"]
        firing, resolved = keys(hook, "pay-1", "firing"), keys(hook, "pay-1", "resolved")
        assert len(firing) == 1 and len(resolved) == 1, (firing, resolved)
        assert list(firing.values()) == [1] and list(resolved.values()) == [1]
    finally:
        pair.close()


def test_a_failing_receiver_gets_one_message_when_it_recovers(tmp_path: Path,
                                                              hook: Recorder) -> None:
    pair = Pair(tmp_path, hook)
    try:
        hook.codes.extend([500] * 8)  # about 2 s of failures at 0.15-0.3 s retries: 2 leases
        pair.fire("pay-2")
        wait_for(lambda: keys(hook, "pay-2", "firing"), timeout=20, what="the page")
        failed = keys(hook, "pay-2", "firing", ok_only=False)
        assert len(failed) == 1, failed  # every attempt, failed or not, under one key
        assert sum(failed.values()) == 9  # 8 refusals and the delivery: one broker retried
        claims = [x.ask("cluster")["claims"] for x in (pair.a, pair.b)]
        assert sorted(c["claimed"] for c in claims) == [0, 1], claims
        # the other broker waited on the live claim, or looked only once it was done
        def closed() -> list[str]:
            rows = [r["status"] for x in (pair.a, pair.b) for r in x.ask("notifications")]
            return sorted(rows) if len(rows) == 2 and "pending" not in rows else []
        assert wait_for(closed, timeout=10, what="both rows closed") == ["delivered", "peer"]
    finally:
        pair.close()


def test_kill_9_of_the_claim_holder_the_peer_takes_over_with_the_same_key(
        tmp_path: Path, hook: Recorder) -> None:
    pair = Pair(tmp_path, hook)
    try:
        hook.codes.extend([500] * 4)  # the holder is retrying when it dies
        pair.fire("pay-3")
        wait_for(lambda: sum(keys(hook, "pay-3", "firing", ok_only=False).values()) >= 2,
                 timeout=10, what="the holder's failing attempts")
        holder = next(x for x in (pair.a, pair.b) if x.ask("cluster")["claims"]["claimed"])
        survivor = pair.b if holder is pair.a else pair.a
        holder.proc.kill()
        holder.proc.wait()
        hook.codes.clear()  # the receiver recovers; the lease (1 s) runs out, b takes over
        wait_for(lambda: keys(hook, "pay-3", "firing"), timeout=15, what="the take-over page")
        took = survivor.ask("cluster")["claims"]
        assert took["taken_over"] + took["claimed"] >= 1, took  # it sent under a claim
        every = keys(hook, "pay-3", "firing", ok_only=False)
        assert len(every) == 1, every  # one Idempotency-Key for the whole episode
        # the alert resolves on the survivor alone: one RESOLVED key
        pair.b = survivor if survivor is pair.b else pair.b
        pair.a = survivor if survivor is pair.a else pair.a

        def resolved_on_survivor() -> dict[str, int]:
            pair.send("pay-3", 10.0)
            return keys(hook, "pay-3", "resolved")
        got = wait_for(resolved_on_survivor, timeout=15, what="the RESOLVED page")
        assert len(got) == 1, got
    finally:
        pair.close()


def test_a_broker_killed_at_the_onset_and_restarted_pages_under_the_pairs_one_key(
        tmp_path: Path, hook: Recorder) -> None:
    """The restarted broker missed the breaching sample that opened the survivor's episode:
    it must not page that incident again under an id of its own, nor its RESOLVED."""
    pair = Pair(tmp_path, hook, fixed=True)
    try:
        pair.a.proc.kill()
        pair.a.proc.wait()
        hook.codes.extend([500] * 6)  # the survivor is still retrying when a is back

        def firing_on(x: Broker) -> list[Any]:
            pair.send("pay-4", 90.0)
            return [al for al in x.ask("alerts") if al["host"] == "pay-4"
                    and al["state"] == "firing"]
        (on_b,) = wait_for(lambda: firing_on(pair.b), timeout=10, what="the alert on b")
        wait_for(lambda: keys(hook, "pay-4", "firing", ok_only=False), timeout=10,
                 what="b's first (refused) attempt")
        pair.a = pair.start("a")  # same ports, same data dir; the PUB redials it
        (on_a,) = wait_for(lambda: firing_on(pair.a), timeout=10, what="the alert on a")
        wait_for(lambda: Pair.peer_up(pair.a), timeout=10, what="a to join")
        # one episode for the pair: a took b's (at its join, or on opening after it)
        wait_for(lambda: [al for al in pair.a.ask("alerts") if al["host"] == "pay-4"
                          and al["episode"] == on_b["episode"]], timeout=5,
                 what=f"a to adopt b's episode (a opened {on_a['episode']})")
        wait_for(lambda: keys(hook, "pay-4", "firing"), timeout=15, what="the FIRING page")

        def resolved() -> dict[str, int]:
            pair.send("pay-4", 10.0)
            return keys(hook, "pay-4", "resolved")
        wait_for(resolved, timeout=15, what="the RESOLVED page")

        def settled() -> list[str]:
            rows = [r["status"] for x in (pair.a, pair.b) for r in x.ask("notifications")
                    if "pay-4" in r["summary"]]
            return rows if rows and not {"pending", "retrying", "sending"} & set(rows) else []
        wait_for(settled, timeout=15, what="both brokers' rows to settle")
        for status in ("firing", "resolved"):
            every = keys(hook, "pay-4", status, ok_only=False)
            assert len(every) == 1, (status, every)  # every attempt under one key
            assert len(keys(hook, "pay-4", status)) == 1
    finally:
        pair.close()
