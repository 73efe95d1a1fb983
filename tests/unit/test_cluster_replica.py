"""broker/cluster: the hybrid logical clock, last-writer-wins merging and digests."""

from __future__ import annotations

import itertools
import random

import pytest

from broker.cluster.hlc import HLC, parse_stamp
from broker.cluster.replica import BUCKETS, Entry, Replica, bucket_of, parse_entries
from core.clock import FakeClock


def test_hlc_never_goes_back_and_orders_after_what_it_heard() -> None:
    clock = FakeClock(1000.0)
    a, b = HLC("a", clock), HLC("b", clock)
    s1 = a.now()
    clock.set(995.0)  # the wall clock steps back (NTP): stamps still grow
    s2 = a.now()
    assert s2 > s1 and s2[0] == s1[0] and s2[1] == s1[1] + 1
    far = (s2[0] + 60_000, 7, "a")  # a peer whose clock runs a minute ahead
    b.observe(far)
    assert b.now() > far


def test_merge_is_order_independent_and_ties_break_by_node() -> None:
    clock = FakeClock(1000.0)
    entries = [Entry("ack:x", {"acked": True, "n": i}, (5000 + i % 3, i % 2, f"n{i % 4}"))
               for i in range(8)]
    results = set()
    for order in itertools.islice(itertools.permutations(entries), 0, 5000, 97):
        r = Replica(HLC("me", clock))
        r.merge(list(order))
        results.add(repr(r.entries["ack:x"]))
    assert len(results) == 1
    winner = max(entries, key=lambda e: e.stamp)
    r = Replica(HLC("me", clock))
    r.merge(entries)
    assert r.entries["ack:x"] == winner


def test_a_local_put_beats_everything_seen_and_compare_lists_both_ways() -> None:
    clock = FakeClock(1000.0)
    mine, theirs = Replica(HLC("a", clock)), Replica(HLC("b", clock))
    theirs.put("silence:s1", {"id": "s1"})
    mine.merge(theirs.pick(["silence:s1"]))
    newer = mine.put("silence:s1", None)  # removed here, after hearing of it
    assert newer.stamp > theirs.entries["silence:s1"].stamp
    mine.put("ack:q", {"acked": True})
    theirs.put("sim:z", {"name": "disk_full"})
    fetch, push = mine.compare(theirs.digest())
    assert fetch == ["sim:z"] and push == ["ack:q", "silence:s1"]
    theirs.merge(mine.pick(push))
    mine.merge(theirs.pick(fetch))
    assert mine.digest() == theirs.digest()


def test_tombstones_are_forgotten_after_their_ttl_only() -> None:
    clock = FakeClock(1000.0)
    r = Replica(HLC("a", clock))
    r.put("silence:old", None)
    r.put("silence:live", {"id": "live"})
    assert r.prune(int(1000.0 * 1000) + 1000) == 0
    assert r.prune(int(1000.0 * 1000) + 8 * 86400 * 1000) == 1
    assert list(r.entries) == ["silence:live"]


def _summary_from_scratch(r: Replica) -> list[int]:
    fresh = Replica(HLC("check", FakeClock(0.0)))
    fresh.merge(list(r.entries.values()))
    return fresh.summary()


def test_bucket_summaries_agree_whatever_the_order_and_name_only_what_differs() -> None:
    clock = FakeClock(1000.0)
    source = Replica(HLC("src", clock))
    for i in range(300):
        source.put(f"claim:n{i}", {"holder": "a", "state": "done"})
    rng = random.Random(5)
    a, b = Replica(HLC("a", clock)), Replica(HLC("b", clock))
    entries = list(source.entries.values())
    a.merge(entries)
    b.merge(rng.sample(entries, len(entries)))
    assert a.summary() == b.summary() and any(a.summary())
    assert a.differing(b.summary()) == []
    clock.advance(1.0)
    a.put("ack:x", {"acked": True})
    b.put("silence:s9", {"id": "s9"})
    diff = a.differing(b.summary())
    assert sorted(diff) == sorted({bucket_of("ack:x"), bucket_of("silence:s9")})
    theirs = b.digest(diff)
    assert len(theirs) < 300  # only the differing buckets' keys travel
    fetch, push = a.compare(theirs, diff)
    assert fetch == ["silence:s9"] and push == ["ack:x"]
    b.merge(a.pick(push))
    a.merge(b.pick(fetch))
    assert a.summary() == b.summary() and a.digest() == b.digest()


def test_bucket_summary_follows_every_change_prune_and_clear() -> None:
    clock = FakeClock(1000.0)
    r = Replica(HLC("a", clock))
    rng = random.Random(9)
    for step in range(400):
        clock.advance(rng.random())
        key = f"{rng.choice(['ack', 'silence', 'claim'])}:k{rng.randrange(40)}"
        r.put(key, None if rng.random() < 0.3 else {"n": step})
        if step % 50 == 0:
            del r.entries[next(iter(r.entries))]
    assert r.summary() == _summary_from_scratch(r)
    r.prune(int(clock.time() * 1000) + 8 * 86400 * 1000)
    assert r.summary() == _summary_from_scratch(r)
    assert sum(len(k) for k in r.entries.keys_in) == len(r.entries)
    r.entries.clear()
    assert r.summary() == [0] * BUCKETS and r.digest([0, 1, 2]) == {}


def test_a_malformed_summary_is_refused_with_the_reason() -> None:
    r = Replica(HLC("a", FakeClock(0.0)))
    for bad in ("x", [0] * 3, [0] * (BUCKETS - 1) + ["x"], [True] * BUCKETS):
        with pytest.raises(ValueError, match="'summary' must be a list of 256 integers"):
            r.differing(bad)


@pytest.mark.parametrize("bad, why", [
    ("nope", "must be a list"),
    ([["ack:x", {}]], "must be \\[key, value, stamp\\]"),
    ([["evil:x", {}, [1, 0, "a"]]], "is not one of"),
    ([["ack:x", "str", [1, 0, "a"]]], "value must be a map"),
    ([["ack:x", {}, [-1, 0, "a"]]], "non-negative"),
    ([["ack:x", {}, [1, 0, ""]]], "non-empty name"),
])
def test_bad_entries_are_refused_with_the_reason(bad: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_entries(bad)


def test_stamps_round_trip_and_random_merges_converge() -> None:
    assert parse_stamp([5, 1, "x"]) == (5, 1, "x")
    rng = random.Random(3)
    clock = FakeClock(1000.0)
    nodes = [Replica(HLC(n, clock)) for n in "abc"]
    log: list[Entry] = []
    for _ in range(300):
        r = rng.choice(nodes)
        log.append(r.put(f"ack:{rng.randrange(20)}", {"acked": rng.random() < 0.5}))
        clock.advance(rng.choice([0.0, 0.001, 0.5]))
    for r in nodes:
        shuffled = log[:]
        rng.shuffle(shuffled)
        r.merge(shuffled)
    assert nodes[0].digest() == nodes[1].digest() == nodes[2].digest()
