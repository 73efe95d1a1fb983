"""broker/cluster: where a pair must not simply take the last writer (effects.keep_ours).

A broker restarted at an alert's onset misses the first breaching sample and opens its own
episode; its entry is stamped later, so last-writer-wins would make the pair adopt it after
the survivor had already paged under the first one (a second Idempotency-Key). And a claim
made by a broker that had not heard the message was sent must not undo the ``done``.
"""

from __future__ import annotations

from typing import Any

from broker.cluster.node import ClusterNode
from broker.cluster.replica import Entry
from core.clock import FakeClock
from tests.unit.engine_helpers import T0, engine_from, rule

RULE = rule("hot", kind="threshold", metric="x", op=">", critical=50.0, for_="0s")


def broker(name: str, clock: FakeClock) -> tuple[ClusterNode, list[Any]]:
    emitted: list[Any] = []
    node = ClusterNode(name, engine_from(RULE), emitted.append, clock)
    node.pair()
    return node, emitted


def breach(node: ClusterNode, seq: int, now: float) -> str:
    """The agent's sample ``seq`` reaches ``node``: the alert opens there; its episode."""
    assert node.engine is not None
    node.engine.set_origin("h1", "agent", "boot", seq)
    for event in node.engine.on_sample("h1", {"x": 90.0}, None, now):
        node.on_event(event)
    (alert,) = node.engine.book.by_id.values()
    return alert.episode


def outbox(node: ClusterNode) -> list[Entry]:
    out = [e for _, e in node.outbox]
    node.outbox.clear()
    return out


def push(src: ClusterNode, dst: ClusterNode) -> None:
    """src's pending entries to dst (peer_push), and dst's newer ones back (the reply)."""
    sent = outbox(src)
    dst.merge(sent, src.name)
    src.merge(dst.newer_than(sent), dst.name)


def episode(node: ClusterNode) -> tuple[str, str]:
    assert node.engine is not None
    (alert,) = node.engine.book.by_id.values()
    return node.replica.entries[f"episode:{alert.id}"].value["episode"], alert.episode


def test_the_incidents_first_episode_wins_whoever_pushes_first() -> None:
    for first in ("survivor", "restarted"):
        clock = FakeClock(T0)
        s, _ = broker("s", clock)
        r, _ = broker("r", clock)
        e1 = breach(s, 1, T0)  # r was down: it missed samples 1 and 2
        clock.advance(2.0)
        e3 = breach(r, 3, T0 + 2.0)
        assert e1 != e3
        if first == "survivor":
            push(s, r)  # r keeps its later-stamped own, and says so in the reply
            push(s, r)  # s re-asserted its earlier episode with a fresh stamp
        else:
            push(r, s)  # s keeps its own (and the reply carries it back to r)
        push(s, r)
        push(r, s)
        assert episode(s) == (e1, e1), first
        assert episode(r) == (e1, e1), first  # r's alert adopted the pair's episode


def test_a_later_incident_is_a_new_episode() -> None:
    clock = FakeClock(T0)
    s, _ = broker("s", clock)
    r, _ = broker("r", clock)
    e1 = breach(s, 1, T0)
    push(s, r)
    clock.advance(120.0)  # far past the slack: another incident; r's own episode stands
    assert r.engine is not None
    r.engine.book.by_id.clear()
    r.replica.entries.clear()
    e9 = breach(r, 9, T0 + 120.0)
    push(r, s)
    assert e9 != e1 and s.replica.entries[next(iter(
        k for k in s.replica.entries if k.startswith("episode:")))].value["episode"] == e9


def test_a_done_claim_is_not_undone_by_a_late_claim() -> None:
    clock = FakeClock(T0)
    s, _ = broker("s", clock)
    r, _ = broker("r", clock)
    s.put_local("claim:n1", {"holder": "s", "state": "done", "until": 0.0, "nid": "n1"})
    clock.advance(1.0)  # r had not heard: it claims later, so its stamp is newer
    r.put_local("claim:n1", {"holder": "r", "state": "claimed", "until": T0 + 16, "nid": "n1"})
    push(r, s)
    for node in (s, r):
        assert node.replica.entries["claim:n1"].value["state"] == "done", node.name
    # but a claim whose holder never finished is taken over as before
    s.put_local("claim:n2", {"holder": "s", "state": "claimed", "until": T0, "nid": "n2"})
    clock.advance(1.0)
    r.put_local("claim:n2", {"holder": "r", "state": "claimed", "until": T0 + 17, "nid": "n2"})
    push(r, s)
    assert s.replica.entries["claim:n2"].value["holder"] == "r"


def test_a_lone_broker_keeps_no_episodes_until_its_first_peer() -> None:
    clock = FakeClock(T0)
    emitted: list[Any] = []
    node = ClusterNode("lone", engine_from(RULE), emitted.append, clock)
    e1 = breach(node, 1, T0)
    assert node.replica.entries == {} and not node.outbox  # nothing to agree on, alone
    node.pair()  # connect(): the open episode is written, for the peer's snapshot
    assert [e.value["episode"] for _, e in node.outbox] == [e1]


class Wire:
    """The peer link between two in-process nodes, pushing synchronously: what
    ``PeerLinks`` does over the control sockets (tested with real brokers elsewhere)."""

    def __init__(self, me: ClusterNode, peer: ClusterNode) -> None:
        self.me, self.peer = me, peer

    def known(self) -> bool:
        return True

    def joining(self) -> bool:
        return False

    def wait_pushed(self, seq: int, timeout: float) -> bool:
        push(self.me, self.peer)
        return True

    def call(self, fn: Any, timeout: float = 5.0) -> Any:  # BrokerCore.call, one thread
        return fn()


def test_a_burst_is_claimed_in_one_round_trip_and_the_peer_stands_back() -> None:
    from broker.cluster.claims import ClaimBook
    from broker.notify.base import Notification
    from broker.notify.claims import DONE, SEND, WAIT

    clock = FakeClock(T0)
    s, _ = broker("s", clock)
    r, _ = broker("r", clock)
    books = {}
    for me, peer in ((s, r), (r, s)):
        wire = Wire(me, peer)
        books[me.name] = ClaimBook(me, wire, wire, lease=15.0, clock=clock)  # type: ignore[arg-type]
    notes = [Notification(f"n{i}", "hook", "resolved", [{"id": f"fp{i}", "episode": "e",
                                                          "started_at": T0}]) for i in range(5)]
    pushes = 0
    real = Wire.wait_pushed

    def counted(self: Wire, seq: int, timeout: float) -> bool:
        nonlocal pushes
        pushes += 1
        return real(self, seq, timeout)
    Wire.wait_pushed = counted  # type: ignore[method-assign]
    try:
        books["s"].prepare(notes, T0)
    finally:
        Wire.wait_pushed = real  # type: ignore[method-assign]
    assert pushes == 2  # our earlier changes, then all five claims: not two per message
    assert [books["s"].before_send(n, T0) for n in notes] == [(SEND, 0.0)] * 5
    books["r"].prepare(notes, T0)  # the peer sees five live claims: it waits
    assert {books["r"].before_send(n, T0)[0] for n in notes} == {WAIT}
    for n in notes:
        books["s"].finished(n)
    push(s, r)
    assert {books["r"].before_send(n, T0 + 1)[0] for n in notes} == {DONE}


def test_a_peers_forget_is_applied_once_and_leaves_the_node_paired() -> None:
    clock = FakeClock(T0)
    s, _ = broker("s", clock)
    r, _ = broker("r", clock)
    forgotten: list[tuple[str, str]] = []
    r.forget_host = lambda host, v, why: forgotten.append((host, why)) is None
    s.put_local("forget:h1", {"reason": "by alice", "at": T0, "last_seen": T0 - 1})
    push(s, r)
    assert forgotten == [("h1", "by alice (on s)")] and r.paired
    breach(r, 5, T0 + 1)  # episodes are still recorded for the pair
    assert any(e.key.startswith("episode:") for _, e in r.outbox)
