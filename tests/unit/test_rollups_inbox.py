"""Samples queued as packed doubles (``Rollups.add``) fold into the same minute and hour rows
as a brute-force aggregation of every sample: with the lane's shared names tuple or
without, ints among floats, hosts whose names change (the slow path), unchecked
non-finite values counted and left out, the caller folding when the queue is full."""

from __future__ import annotations

import math
import random
from collections import defaultdict

import pytest

from broker.layout import names as shared_names
from broker.store import rollups as rollups_mod
from broker.store.rollups import Rollups

M0 = 1_699_999_980.0  # a minute boundary


def brute(samples: list[tuple[str, dict[str, float], float]]) -> dict[tuple, list[float]]:
    """(step, host, metric, bucket start) -> [min, max, sum, count] of every sample."""
    out: dict[tuple, list[float]] = defaultdict(lambda: [math.inf, -math.inf, 0.0, 0])
    for host, metrics, ts in samples:
        for name, v in metrics.items():
            if not math.isfinite(v):
                continue
            for step in (60, 3600):
                row = out[(step, host, name, int(ts // step) * step)]
                row[0], row[1] = min(row[0], v), max(row[1], v)
                row[2] += v
                row[3] += 1
    return out


def test_packed_samples_fold_into_the_rows_of_every_sample(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(rollups_mod, "INBOX_MAX", 50)  # add() folds now and then itself
    rng = random.Random(9)
    base = ("cpu.percent", "mem.percent", "load.1", "net.eth0.rx_bps")
    r = Rollups(grace=0)
    sent: list[tuple[str, dict[str, float], float]] = []
    for second in range(200):  # three minutes and a bit, in order
        for h in range(12):
            host = f"h{h}"
            names = base if second % 50 != 7 or h % 3 else base[:2] + ("disk./.percent",)
            metrics = {n: (rng.randint(0, 9) if rng.random() < 0.3 else rng.uniform(-5, 1e3))
                       for n in names}
            ts = M0 + second + h * 0.01
            if h == 11 and second % 40 == 3:  # an unchecked caller's bad values
                metrics["cpu.percent"] = math.nan
                metrics["load.1"] = math.inf
                r.add(host, metrics, ts)
            elif h % 2:
                r.add(host, metrics, ts, checked=True, names=shared_names(tuple(metrics)))
            else:
                r.add(host, metrics, ts, checked=True)
            sent.append((host, metrics, ts))
    rows = r.take_closed(M0 + 10_000, everything=True)
    got = {(step, host, metric, ts): [mn, mx, sm, n]
           for step, host, metric, ts, mn, mx, sm, n in rows}
    want = brute(sent)
    assert got.keys() == want.keys() and len(got) > 200
    for key, (mn, mx, sm, n) in want.items():
        g = got[key]
        assert (g[0], g[1], g[3]) == (mn, mx, n), key
        assert g[2] == pytest.approx(sm, rel=1e-12), key
    assert r.rejected == 2 * 5  # NaN and inf, in each of five seconds
