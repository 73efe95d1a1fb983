"""The TUI's pure parts: message coalescing, the fleet model, formatting, import hygiene."""

from __future__ import annotations

import subprocess
import sys

from tui.format import age, bar, chart, level, rate, sparkline
from tui.messages import MetricsUpdate
from tui.model import FleetModel
from tui.sources import frozen_data


def test_metrics_updates_coalesce_per_host_newest_wins() -> None:
    older = MetricsUpdate("b1", {"web-1": (1.0, {"cpu.percent": 10.0, "mem.percent": 50.0}),
                                 "web-2": (1.0, {"cpu.percent": 20.0})})
    newer = MetricsUpdate("b1", {"web-1": (2.0, {"cpu.percent": 11.0})})
    assert older.can_replace(newer)  # Textual then drops ``older`` and keeps ``newer``
    assert newer.updates == {"web-1": (2.0, {"cpu.percent": 11.0, "mem.percent": 50.0}),
                             "web-2": (1.0, {"cpu.percent": 20.0})}


def test_metrics_updates_of_other_brokers_are_not_merged() -> None:
    assert not MetricsUpdate("b1", {}).can_replace(MetricsUpdate("b2", {}))


def test_hosts_merge_by_name_and_alerts_by_id_across_brokers() -> None:
    model = FleetModel()
    snap = frozen_data.snapshot()
    model.apply_snapshot("b1", snap)
    model.apply_snapshot("b2", snap)
    assert len(model.hosts) == len(snap["hosts"])
    assert len(model.alerts) == len(snap["alerts"])
    assert model.hosts["web-1"].sources == {"b1", "b2"}
    # b1 resyncs without web-1: b2 still knows it, so it stays, once.
    smaller = dict(snap, hosts=[h for h in snap["hosts"] if h["host"] != "web-1"], alerts=[])
    model.apply_snapshot("b1", smaller)
    assert "web-1" in model.hosts and model.hosts["web-1"].sources == {"b2"}
    assert len(model.alerts) == len(snap["alerts"])
    model.apply_snapshot("b2", smaller)
    assert "web-1" not in model.hosts and model.alerts == {}


def test_metrics_mark_only_that_host_dirty_and_keep_history_bounded() -> None:
    model = FleetModel()
    model.apply_snapshot("b", frozen_data.snapshot())
    model.take_dirty()
    version = model.hosts_version
    for i in range(500):
        model.apply_metrics("b", "web-1", 1.0 + i, {"cpu.percent": float(i % 100)})
    assert model.take_dirty() == {"web-1"}
    assert model.hosts_version == version  # no row added or removed
    assert len(model.hosts["web-1"].history["cpu.percent"]) <= 120


def test_new_critical_is_reported_once() -> None:
    model = FleetModel()
    alert = frozen_data.alert("x1", "high_cpu_usage", "web-1", "critical", "cpu.percent", 99.0,
                              95.0, 0.0)
    assert model.apply_alert("b", alert)
    assert not model.apply_alert("b", dict(alert, acked=True))
    assert not model.apply_alert("b", dict(alert, id="x2", silenced=["s1"]))
    assert model.unacked_criticals() == 1


def test_formatting() -> None:
    assert level("cpu", 96) == "critical" and level("cpu", 81) == "warning"
    assert level("cpu", 10) == "ok" and level("cpu", None) == "ok"
    assert rate(512) == "512" and rate(12_300) == "12K" and rate(3_400_000) == "3.4M"
    assert age(5) == "5s" and age(3600 * 3) == "3h"
    assert bar(50, 10) == "█████░░░░░"
    assert sparkline([0, 50, 100], 3, lo=0, hi=100) == "▁▅█"
    assert chart([0, 100], 2, 2, hi=100) == [" █", " █"]


def test_core_and_broker_never_import_textual() -> None:
    code = ("import sys, core.protocol, core.config, broker.events; "
            "assert 'textual' not in sys.modules, 'textual was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_silence_events_mark_and_unmark_alerts() -> None:
    model = FleetModel()
    model.apply_snapshot("b", frozen_data.snapshot())
    model.apply_silence("s9", ["a1c0ffee"], active=True)
    assert model.alerts["a1c0ffee"]["silenced"] == ["s9"]
    model.apply_silence("s9", [], active=False)
    assert model.alerts["a1c0ffee"]["silenced"] == []


def test_alert_counts_per_host_follow_changes() -> None:
    model = FleetModel()
    model.apply_snapshot("b", frozen_data.snapshot())
    assert model.host_alert_count("worker-3") == 2
    model.apply_alert("b", dict(model.alerts["e5a3c200"], state="resolved"))
    assert model.host_alert_count("worker-3") == 1


def test_tui_imports_only_core_and_the_embedded_broker() -> None:
    """tui/ may import core/ (and broker.system, lazily, for the embedded default; the
    frozen source's queries run on the broker's own handlers, in frozen_store.py only)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "tui"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert top not in ("agents", "tests", "bench"), f"{path}: imports {name}"
                if top == "broker":  # the embedded default, and the frozen source's store
                    assert (name == "broker.system" and path.name == "cli.py") or \
                        path.name == "frozen_store.py", f"{path}: imports {name}"
