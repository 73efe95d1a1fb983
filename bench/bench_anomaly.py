"""The anomaly rule scored on labelled real data (NAB), beside two baselines.

    python -m bench.bench_anomaly [--data DIR] [--json FILE] [--sensitivity S]

Replays every series of a NAB-format directory (``data/**/*.csv`` of ``timestamp,value``
and ``combined_windows.json``; default: the shipped subset at ``../shared/nab`` beside the
repository, 17 AWS CloudWatch series) through the real ``AlertEngine`` with one ``anomaly``
rule at its defaults, on a fake clock (each row's timestamp is ``now``; ``tick`` runs after
every row), as fast as it goes. A detection is an alert's onset (it reaching ``firing``).

Printed for the rule and for two baselines run on the same data, a windowed Gaussian
(fixed 3 sigma over the previous values, NAB's own "windowedGaussian" idea) and a detector
that never fires: NAB's standard-profile score (bench/nab_score.py has the definition),
window recall, false alerts per day outside the windows and the median detection delay in
samples. The rule's throughput is given against the windowed Gaussian's, the cheapest
detector that does any work. Never asserts; ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.nab_score import Scored, Series, load, score_series, summary
from broker.alerting.engine import AlertEngine
from broker.alerting.rules import parse_rules

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "nab"
Detector = Callable[[Series], list[int]]


def rule_detector(sensitivity: float | None = None, **extra: Any) -> Detector:
    table: dict[str, Any] = {"name": "anomaly", "kind": "anomaly", "metric": "nab.value",
                             "op": "!=", **extra}
    if sensitivity is not None:
        table["sensitivity"] = sensitivity
    rules = parse_rules([table], "bench_anomaly")

    def detect(s: Series) -> list[int]:
        engine = AlertEngine(rules)
        onsets = []
        for i, (t, v) in enumerate(zip(s.ts, s.values, strict=True)):
            events = engine.on_sample("nab", {"nab.value": v}, None, t)
            events += engine.tick(t)
            if any(e["kind"] == "alert" and e["data"]["change"] == "state"
                   and e["data"]["to"] == "firing" for e in events):
                onsets.append(i)
        return onsets
    return detect


def windowed_gaussian(s: Series, window: int = 6400, k: float = 3.0) -> list[int]:
    """Onsets of |x - mean| > k sigma over the previous ``window`` values (all, here)."""
    past: deque[float] = deque(maxlen=window)
    total = sq = 0.0
    onsets, was = [], False
    for i, v in enumerate(s.values):
        now = False
        if len(past) >= 2:
            n = len(past)
            mean = total / n
            sd = math.sqrt(max(sq / n - mean * mean, 0.0))
            now = sd > 0 and abs(v - mean) > k * sd
        if now and not was:
            onsets.append(i)
        was = now
        if len(past) == past.maxlen:
            old = past[0]
            total -= old
            sq -= old * old
        past.append(v)
        total += v
        sq += v * v
    return onsets


def never(s: Series) -> list[int]:
    return []


def run(detector: Detector, corpus: list[Series]) -> tuple[dict[str, Any], float, list[Any]]:
    sc = Scored(delays=[])
    per_series = []
    t0 = time.perf_counter()
    for s in corpus:
        onsets = detector(s)
        one = score_series(s, onsets)
        per_series.append((s.name, len(onsets), summary(one)["nab_standard"]))
        score_series(s, onsets, into=sc)
    return summary(sc), time.perf_counter() - t0, per_series


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_anomaly", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="a NAB-format directory (default: ../shared/nab beside the repo)")
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    ap.add_argument("--sensitivity", type=float, help="the rule's sensitivity (1-10)")
    ap.add_argument("--per-series", action="store_true", help="print each series' score")
    args = ap.parse_args(argv)
    data = args.data.resolve()
    if not data.is_dir():
        print(f"bench_anomaly: no NAB data at {data} (pass --data DIR)", file=sys.stderr)
        return 2
    corpus = load(data)
    rows = sum(len(s.ts) for s in corpus)
    print(f"{len(corpus)} series, {rows} rows, "
          f"{sum(len(s.windows) for s in corpus)} labelled windows from {data}")
    try:
        rule = rule_detector(args.sensitivity)
    except Exception as exc:  # a bad --sensitivity: the rule loader's own message
        print(f"bench_anomaly: {exc}", file=sys.stderr)
        return 2
    result, took, per = run(rule, corpus)
    gauss, g_took, _ = run(windowed_gaussian, corpus)
    nothing, _, _ = run(never, corpus)
    result["rows_per_s"] = round(rows / took)
    result["baselines"] = {"windowed_gaussian": gauss, "never": nothing}
    result["ceiling_rows_per_s"] = round(rows / g_took)
    head = f"{'detector':<20}{'NAB std':>9}{'recall':>8}{'false/day':>11}{'delay':>7}"
    print(head)
    for name, r in (("anomaly rule", result), ("windowed Gaussian", gauss),
                    ("never", nothing)):
        print(f"{name:<20}{r['nab_standard']:>9.1f}{r['window_recall']:>8.2f}"
              f"{r['false_alerts_per_day']:>11.2f}{_num(r['median_delay_samples']):>7}")
    print(f"rule: {result['rows_per_s']:,} rows/s through AlertEngine; windowed Gaussian "
          f"{result['ceiling_rows_per_s']:,} rows/s "
          f"(ratio {result['rows_per_s'] / result['ceiling_rows_per_s']:.3f})")
    if args.per_series:
        for name, n, score in per:
            print(f"  {name:<60}{n:>4} onsets  {score:>7.1f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:g}"


if __name__ == "__main__":
    raise SystemExit(main())
