"""Alert windows are cut a few at a time, not the whole fleet in one second, and agree with
the deque reference whatever their cut; the forecast's trend gives the predictions of a
plain recomputation from the raw samples."""

from __future__ import annotations

import random

import pytest

from broker.alerting.windows import MAX_POINTS, Trend, Window, percentile
from tests.unit.test_memory_layout import DequeWindow

CUTS = 17  # distinct cut fractions (windows._CUTS)


def test_a_fleets_windows_are_cut_a_few_at_a_time() -> None:
    fleet = [Window(120.0) for _ in range(20 * CUTS)]  # made together, fed in step at 1 Hz
    most = 0
    cut_once = set()
    for second in range(600):
        before = [len(w.ts) for w in fleet]
        for w in fleet:
            w.add(1000.0 + second, float(second))
        shrunk = [i for i, w in enumerate(fleet) if len(w.ts) < before[i]]
        cut_once.update(shrunk)
        most = max(most, len(shrunk))
        for w in fleet:
            assert len(w) == 121 if second >= 120 else second + 1
            assert len(w.ts) <= 2 * len(w) + 33
    assert len(cut_once) == len(fleet)  # every window was cut...
    assert most <= 2 * 20  # ...but never more than two cuts' share at once (was: all 340)


@pytest.mark.parametrize("span, step", [(120.0, 1.0), (10.0, 0.3)])
def test_every_cut_agrees_with_the_deque_window(span: float, step: float) -> None:
    rng = random.Random(11)
    pairs = [(Window(span), DequeWindow(span)) for _ in range(CUTS)]
    assert len({w.cut for w, _ in pairs}) == CUTS
    t = 1000.0
    for i in range(MAX_POINTS // 4):
        t += step * (0.5 + rng.random()) if i % 97 else span / 2
        v = rng.uniform(-50, 50)
        for flat, ref in pairs:
            flat.add(t, v)
            ref.add(t, v)
            if i % 29 == 0:
                vs = list(ref.vs)
                assert len(flat) == len(vs) and flat.agg("max") == max(vs)
                assert flat.agg("min") == min(vs) and flat.agg("last") == vs[-1]
                assert flat.agg("p95") == percentile(sorted(vs), 0.95)
                assert flat.agg("avg") == pytest.approx(sum(vs) / len(vs))


def reference_predictions(samples: list[tuple[float, float]], span: float, buckets: int,
                          horizon: float) -> list[float | None]:
    """At each sample: None unless it closed a bucket, else the line's value at t + horizon
    over the bucket means (the last ``buckets``, none older than ``span``), recomputed."""
    step = span / buckets
    out: list[float | None] = []
    means: list[tuple[float, float]] = []
    open_: list[tuple[float, float]] = []
    for t, v in samples:
        closed = bool(open_) and t - open_[0][0] >= step
        if closed:
            means.append((sum(p[0] for p in open_) / len(open_),
                          sum(p[1] for p in open_) / len(open_)))
            means = [m for m in means[-buckets:] if m[0] >= t - span]
            open_ = []
        open_.append((t, v))
        if not closed or len(means) < 5:
            out.append(None)
            continue
        mt = sum(m[0] for m in means) / len(means)
        mv = sum(m[1] for m in means) / len(means)
        sxx = sum((m[0] - mt) ** 2 for m in means)
        slope = sum((m[0] - mt) * (m[1] - mv) for m in means) / sxx if sxx > 0 else None
        out.append(None if slope is None else mv + slope * (t + horizon - mt))
    return out


def test_trend_predicts_what_a_recomputation_from_the_samples_gives() -> None:
    rng = random.Random(5)
    t, samples = 5000.0, []
    for i in range(8000):
        t += rng.choice([0.5, 1.0, 1.0, 2.0]) if i % 1500 else 700.0  # now and then a gap
        samples.append((t, rng.choice([3, 7, -2]) if i % 3 else 0.01 * i))  # ints, floats
    trend = Trend(600.0, buckets=12)
    got = []
    for t, v in samples:
        got.append(trend.predict(t + 3600.0) if trend.add(t, v) else None)
    want = reference_predictions(samples, 600.0, 12, 3600.0)
    assert sum(1 for w in want if w is not None) > 100
    assert got == pytest.approx(want)
