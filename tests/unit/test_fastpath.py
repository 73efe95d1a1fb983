"""The agent's fast path: which values it watches, when a value has crossed, the sampler."""

from __future__ import annotations

import time
from collections import deque

from agents.fastpath import FastPath, FastSampler, Watch, watches_for
from tests.procs import wait_for

T = {"rule": "r", "metric": "cpu.percent", "op": ">", "levels": [80.0, 95.0], "per_core": False}


def test_watches_match_globs_against_the_names_the_sampler_gives() -> None:
    names = ["cpu.percent", "net.eth0.rx_bps", "net.lo.rx_bps", "mem.percent"]
    ws = watches_for([T, {**T, "metric": "net.*.rx_bps"}, {**T, "op": "!="},
                      {**T, "metric": "disk.*.percent"}], names)
    assert [w.name for w in ws] == ["cpu.percent", "net.eth0.rx_bps", "net.lo.rx_bps"]


def test_a_crossing_is_a_change_of_level_either_way_held_for_two_samples() -> None:
    w = Watch("cpu.percent", T)
    assert not w.crossed(50.0, 1.0)  # the first value is the baseline
    assert not w.crossed(70.0, 1.0)
    assert not w.crossed(85.0, 1.0)  # past warning: seen once
    assert w.crossed(86.0, 1.0)  # held for a second sample: sent
    assert not w.crossed(99.0, 1.0)
    assert w.crossed(99.0, 1.0)  # past critical, held
    assert not w.crossed(97.0, 1.0)
    assert not w.crossed(10.0, 1.0)
    assert w.crossed(10.0, 1.0)  # back below both: the broker hears the clear early too


def test_a_one_sample_spike_is_not_sent() -> None:
    w = Watch("cpu.percent", T)
    w.crossed(50.0, 1.0)
    assert not w.crossed(100.0, 1.0)  # one busy 100 ms reading
    assert not w.crossed(40.0, 1.0)
    assert not w.crossed(100.0, 1.0)
    assert w.level == 0


def test_per_core_levels_divide_by_the_cores() -> None:
    w = Watch("load.1", {**T, "metric": "load.1", "levels": [2.0], "per_core": True})
    w.crossed(3.0, 4.0)
    w.crossed(9.0, 4.0)
    assert w.crossed(9.0, 4.0)


def test_step_publishes_on_a_crossing_within_a_budget() -> None:
    sent: list[dict[str, float]] = []
    fp = FastPath("tcp://127.0.0.1:1", "h", {}, sent.append)
    sampler = FastSampler()
    # levels that every cpu.percent reading passes or not, alternately: each step crosses
    fp.watches = [Watch("cpu.percent", {**T, "levels": [-1.0]})]
    budget: deque[float] = deque()

    def crossing() -> bool:
        w = fp.watches[0]
        w.level, w._next, w._seen = 0, 1, 1  # as if one reading above had been seen
        return fp.step(sampler, budget)  # False until the CPU counters have moved
    wait_for(crossing, timeout=5, what="a CPU reading")
    assert "cpu.percent" in sent[-1]
    for _ in range(10):
        w = fp.watches[0]
        w.level, w._next, w._seen = 0, 1, 1
        fp.step(sampler, budget)
    assert len(sent) <= 5  # MAX_FAST_FRAMES_PER_S


def test_sampler_names_include_rates_before_they_have_values() -> None:
    for use_procfs in (True, False):
        # asked at once after the baseline: no CPU ticks have passed, the names are there
        names = FastSampler(use_procfs=use_procfs).names()
        assert {"cpu.percent", "cpu.user", "mem.percent"} <= set(names), names
    s = FastSampler()
    names = s.names()
    assert any(n.startswith("net.") and n.endswith(".rx_bps") for n in names)


def test_procfs_and_psutil_samplers_agree() -> None:
    import psutil

    a, b = FastSampler(use_procfs=True), FastSampler(use_procfs=False)
    ma, mb = a.sample({"mem", "swap"}), b.sample({"mem", "swap"})
    assert abs(ma["mem.percent"] - mb["mem.percent"]) < 2.0
    assert abs(ma["swap.percent"] - mb["swap.percent"]) < 2.0
    assert abs(ma["mem.available"] - psutil.virtual_memory().available) < 2**28
    burn_until = time.monotonic() + 0.3
    while time.monotonic() < burn_until:  # poll: busy for a few CPU ticks
        pass
    ca, cb = a.sample({"cpu"}), b.sample({"cpu"})
    assert set(ca) == set(cb) and 0.0 < ca["cpu.percent"] <= 100.0
    a.close()
