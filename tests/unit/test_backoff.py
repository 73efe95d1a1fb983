"""core/backoff.py: the one exponential back-off every retry loop uses."""

import random

import pytest

from core.backoff import Backoff


def test_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(0.5, 3.0)
    assert [b.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.next() == 0.5


def test_delay_by_attempt_matches_the_sequence_and_jitter_stays_in_bounds() -> None:
    b = Backoff(1.0, 300.0)
    assert [b.delay(n) for n in (1, 2, 3, 10)] == [1.0, 2.0, 4.0, 300.0]
    jittered = Backoff(1.0, 300.0, jitter=0.2, rng=random.Random(7))
    delays = [jittered.delay(3) for _ in range(200)]
    assert all(3.2 <= d <= 4.8 for d in delays) and len(set(delays)) > 100


@pytest.mark.parametrize("args", [(0.0, 1.0), (2.0, 1.0), (1.0, 2.0, 0.5)])
def test_nonsense_is_refused_with_the_values_named(args: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="bad back-off"):
        Backoff(args[0], args[1], factor=args[2] if len(args) > 2 else 2.0)
