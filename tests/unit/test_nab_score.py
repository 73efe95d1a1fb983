"""bench/nab_score.py against the published definition, on a small NAB-format directory."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import bench_anomaly
from bench.nab_score import Scored, load, score_series, sigmoid, summary


def nab_dir(tmp: Path, rows: int = 1000, windows: tuple[tuple[int, int], ...] = ((400, 499),)
            ) -> Path:
    (tmp / "data" / "kind").mkdir(parents=True)
    stamp = [f"2024-01-{1 + i // 288:02d} {(i % 288) * 5 // 60:02d}:{(i % 288) * 5 % 60:02d}:00"
             for i in range(rows)]
    values = [5.0] * rows
    for lo, _ in windows:
        for i in range(lo + 50, lo + 60):
            values[i] = 500.0
    (tmp / "data" / "kind" / "s.csv").write_text(
        "timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(stamp, values, strict=True)))
    (tmp / "combined_windows.json").write_text(json.dumps(
        {"kind/s.csv": [[stamp[lo] + ".000000", stamp[hi] + ".000000"] for lo, hi in windows]}))
    return tmp


def score(tmp: Path, detections: list[int]) -> dict:
    (s,) = load(tmp)
    return summary(score_series(s, detections))


def test_the_scaled_sigmoid():
    assert sigmoid(0.0) == 0.0 and sigmoid(3.5) == -1.0
    assert sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)


def test_perfect_null_and_late_detections(tmp_path):
    d = nab_dir(tmp_path)
    (s,) = load(d)
    assert s.windows == [(400, 499)] and s.probation == 150
    assert score(d, [400])["nab_standard"] == 100.0  # the left edge: perfect
    assert score(d, [])["nab_standard"] == 0.0  # the null detector
    assert score(d, [499])["nab_standard"] == pytest.approx(
        50 * (1 + sigmoid(-1 / 100) / sigmoid(-1)), abs=0.01)  # the right edge: almost 50
    assert score(d, [400, 450, 499])["nab_standard"] == 100.0  # only the best counts
    assert score(d, [100])["nab_standard"] == 0.0  # in the probation: not scored


def test_false_positives_cost_fp_weight_far_away_and_less_just_after_a_window(tmp_path):
    d = nab_dir(tmp_path)
    far = score(d, [400, 900])
    assert far["raw_score"] == pytest.approx(1.0 - 0.11) and far["false_alerts"] == 1
    near = score(d, [400, 500])
    assert 1.0 - 0.11 < near["raw_score"] < 1.0
    before = score(d, [400, 200])  # no window precedes it: a full fp
    assert before["raw_score"] == pytest.approx(1.0 - 0.11)


def test_false_alerts_per_day_and_delay(tmp_path):
    d = nab_dir(tmp_path)
    sc = Scored(delays=[])
    (s,) = load(d)
    score_series(s, [430, 700, 800], into=sc)
    out = summary(sc)
    assert out["window_recall"] == 1.0 and out["median_delay_samples"] == 30
    days = (1000 - 150 - 100) * 300 / 86400  # rows outside windows after probation
    assert out["false_alerts_per_day"] == pytest.approx(2 / days, rel=0.01)


def test_the_bench_runs_on_any_nab_directory_and_writes_its_json(tmp_path, capsys):
    d = nab_dir(tmp_path / "nab")
    out = tmp_path / "r.json"
    assert bench_anomaly.main(["--data", str(d), "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    for part in (r, r["baselines"]["windowed_gaussian"], r["baselines"]["never"]):
        assert {"nab_standard", "window_recall", "false_alerts_per_day",
                "median_delay_samples"} <= set(part)
    assert r["baselines"]["never"]["nab_standard"] == 0.0
    assert r["window_recall"] == 1.0  # a 100x spike in a flat series is found
    assert "anomaly rule" in capsys.readouterr().out
    assert bench_anomaly.main(["--data", str(tmp_path / "nowhere")]) == 2
