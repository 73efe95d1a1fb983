import math

import pytest

from agents.rates import Rates


def test_first_sample_has_no_rate():
    r = Rates()
    assert r.rate("net.eth0.rx_bps", 1000, now=100.0) is None
    assert "net.eth0.rx_bps" in r


def test_rate_is_delta_over_elapsed_time():
    r = Rates()
    r.rate("k", 1000, 100.0)
    assert r.rate("k", 3000, 102.0) == pytest.approx(1000.0)
    assert r.rate("k", 3000, 103.0) == 0.0


def test_keys_are_independent():
    r = Rates()
    r.rate("a", 0, 0.0)
    r.rate("b", 100, 0.0)
    assert r.rate("a", 10, 1.0) == 10.0
    assert r.rate("b", 150, 2.0) == 25.0


@pytest.mark.parametrize("after", [0, 5, 999])
def test_counter_going_down_is_a_reset_not_a_negative_rate(after):
    r = Rates()
    r.rate("k", 1000, 0.0)
    assert r.rate("k", after, 1.0) is None
    # the reset value is the new baseline
    assert r.rate("k", after + 50, 2.0) == 50.0


def test_wrap_of_a_32_bit_counter_gives_no_spike():
    r = Rates()
    r.rate("k", 2**32 - 10, 0.0)
    assert r.rate("k", 20, 1.0) is None
    assert r.rate("k", 40, 2.0) == 20.0


@pytest.mark.parametrize("later", [0.0, -1.0])
def test_time_not_advancing_gives_no_rate_and_keeps_baseline(later):
    r = Rates()
    r.rate("k", 100, 10.0)
    assert r.rate("k", 200, 10.0 + later) is None
    assert r.rate("k", 300, 12.0) == 100.0


def test_non_finite_input_is_ignored():
    r = Rates()
    r.rate("k", 100, 0.0)
    assert r.rate("k", math.nan, 1.0) is None
    assert r.rate("k", math.inf, 1.0) is None
    assert r.rate("k", 200, 2.0) == 50.0


def test_put_writes_only_real_rates():
    r = Rates()
    out: dict[str, float] = {}
    r.put(out, "k", 10, 0.0)
    assert out == {}
    r.put(out, "k", 20, 1.0)
    assert out == {"k": 10.0}


def test_prune_forgets_stale_keys():
    r = Rates()
    r.rate("old", 1, 0.0)
    r.rate("new", 1, 100.0)
    assert r.prune(older_than=50.0) == 1
    assert "old" not in r and "new" in r and len(r) == 1
    r.forget("new")
    assert len(r) == 0
