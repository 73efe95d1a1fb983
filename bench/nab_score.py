"""NAB-format data and NAB's scoring, implemented from the published definition.

Lavin & Ahmad 2015, "Evaluating Real-time Anomaly Detection Algorithms — the Numenta
Anomaly Benchmark" (and the README of the data directory). A detector's output here is the
list of its *detections*: the rows where an alert began (its onset), not every row it fires.

- The first 15 % of a series' rows (at most 750) are probationary: detections there are not
  scored (windows there still count).
- A window of width ``w`` rows with right edge ``r``: a detection at row ``i`` inside it has
  position ``p = -(r - i + 1) / w`` and scores ``tp * S(p) / S(-1)``, with the scaled sigmoid
  ``S(x) = 2 / (1 + exp(5x)) - 1``. Only the window's best (earliest) detection counts; a
  window with none costs ``-fn``.
- A detection outside every window scores ``fp * S(d)``, ``d = |i - r_prev| / (w_prev - 1)``
  past the preceding window's right edge (``S`` taken as -1 when ``d > 3`` or when no window
  precedes it).
- Normalised over a corpus: ``100 * (raw - null) / (perfect - null)``, ``null = -fn * W``
  (never detects), ``perfect = tp * W`` (each window at its left edge, nothing else).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from statistics import median

STANDARD = {"tp": 1.0, "fp": 0.11, "fn": 1.0}


def sigmoid(x: float) -> float:
    """NAB's scaled sigmoid, in (-1, 1): +1 far left, 0 at x = 0, -1 far right."""
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


@dataclass
class Series:
    name: str
    ts: list[float]          # unix seconds
    values: list[float]
    windows: list[tuple[int, int]]  # [left row, right row], inclusive

    @property
    def probation(self) -> int:
        return min(int(math.floor(0.15 * len(self.ts))), 750)


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.strip()).timestamp()


def load(data_dir: Path) -> list[Series]:
    """Every ``data/**/*.csv`` with its windows from ``combined_windows.json``."""
    windows_file = data_dir / "combined_windows.json"
    if not (data_dir / "data").is_dir() or not windows_file.is_file():
        raise SystemExit(f"bench_anomaly: {data_dir} is not a NAB-format directory (needs "
                         "data/ with timestamp,value CSVs and combined_windows.json)")
    labels = json.loads(windows_file.read_text())
    out = []
    for path in sorted((data_dir / "data").rglob("*.csv")):
        key = path.relative_to(data_dir / "data").as_posix()
        ts, vs = [], []
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                ts.append(_ts(row["timestamp"]))
                vs.append(float(row["value"]))
        wins = []
        for left, right in labels.get(key, []):
            lt, rt = _ts(left), _ts(right)
            rows = [i for i, t in enumerate(ts) if lt <= t <= rt]
            if rows:
                wins.append((rows[0], rows[-1]))
        out.append(Series(key, ts, vs, wins))
    if not out:
        raise SystemExit(f"bench_anomaly: no CSV files under {data_dir / 'data'}")
    return out


@dataclass
class Scored:
    raw: float = 0.0
    windows: int = 0
    detected: int = 0
    false_alerts: int = 0
    scored_days: float = 0.0
    delays: list[int] | None = None


def score_series(s: Series, detections: list[int], w: dict[str, float] = STANDARD,
                 into: Scored | None = None) -> Scored:
    """Add the NAB score and the plain figures of one series' detections to ``into``."""
    out = into or Scored(delays=[])
    assert out.delays is not None
    start = s.probation
    wins = sorted(s.windows)
    best: dict[int, float] = {}
    first: dict[int, int] = {}
    for i in sorted(set(detections)):
        if i < start:
            continue
        inside = next((k for k, (lo, hi) in enumerate(wins) if lo <= i <= hi), None)
        if inside is not None:
            lo, hi = wins[inside]
            width = hi - lo + 1
            p = -(hi - i + 1) / width
            sc = w["tp"] * sigmoid(p) / sigmoid(-1.0)
            if inside not in best or sc > best[inside]:
                best[inside], first[inside] = sc, i
            continue
        prev = [(lo, hi) for lo, hi in wins if hi < i]
        if prev:
            lo, hi = prev[-1]
            d = abs(i - hi) / max(hi - lo, 1)
            out.raw += w["fp"] * sigmoid(d)
        else:
            out.raw += -w["fp"]
        out.false_alerts += 1
    for k, (lo, _) in enumerate(wins):
        if k in best:
            out.raw += best[k]
            out.detected += 1
            out.delays.append(first[k] - lo)
        else:
            out.raw -= w["fn"]
    out.windows += len(wins)
    if len(s.ts) > start + 1:
        outside = sum(1 for i in range(start, len(s.ts))
                      if not any(lo <= i <= hi for lo, hi in wins))
        step = (s.ts[-1] - s.ts[start]) / (len(s.ts) - 1 - start)
        out.scored_days += outside * step / 86400.0
    return out


def summary(sc: Scored, w: dict[str, float] = STANDARD) -> dict[str, float | None]:
    null, perfect = -w["fn"] * sc.windows, w["tp"] * sc.windows
    norm = 100.0 * (sc.raw - null) / (perfect - null) if perfect > null else 0.0
    return {
        "nab_standard": round(norm, 2),
        "raw_score": round(sc.raw, 3),
        "windows": sc.windows,
        "window_recall": round(sc.detected / sc.windows, 3) if sc.windows else None,
        "false_alerts": sc.false_alerts,
        "false_alerts_per_day": round(sc.false_alerts / sc.scored_days, 3)
        if sc.scored_days else None,
        "median_delay_samples": median(sc.delays) if sc.delays else None,
    }
