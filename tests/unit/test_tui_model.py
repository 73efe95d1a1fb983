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


def _digest(names: list[str], status: str, **cols: list[float]) -> dict[str, object]:
    from core import digest as fleet
    return {"ts": 1000.0, "hosts": names, "status": status,
            "figures": {c: fleet.pack_column(v) for c, v in cols.items()}}


def test_digest_sets_figures_status_and_age_of_hosts_not_followed() -> None:
    nan = float("nan")
    model = FleetModel()
    assert model.apply_digest("b1", _digest(
        ["a", "b", "c"], "uds", cpu=[10.0, 20.0, nan], mem=[30.0, 40.0, 50.0],
        load=[1.0, 2.0, 3.0], disk=[60.0, nan, 70.0], rx=[100.0, 200.0, 300.0],
        tx=[1.0, 2.0, 3.0], age=[1.0, 5.0, nan]))
    a, b, c = (model.hosts[n] for n in "abc")
    assert (a.status, b.status, c.status) == ("up", "down", "stopped")
    assert a.metrics == {"cpu.percent": 10.0, "mem.percent": 30.0, "load.1": 1.0}
    assert "cpu.percent" not in c.metrics  # NaN: unknown, not 0
    assert a.figures == {"disk": 60.0, "rx": 100.0, "tx": 1.0}
    assert b.figures == {"rx": 200.0, "tx": 2.0} and b.busiest_disk() == ("", None)
    assert (a.last_seen, b.last_seen, c.last_seen) == (999.0, 995.0, 0.0)
    assert model.take_dirty() == {"a", "b", "c"}
    # the next digest of the same hosts reuses them; a followed host keeps its own metrics
    model.apply_metrics("b1", "a", 1001.0, {"cpu.percent": 11.0, "disk./.percent": 61.0})
    model.take_dirty()
    assert model.apply_digest("b1", _digest(
        ["a", "b", "c"], "uuu", cpu=[99.0, 21.0, 22.0], mem=[1.0, 1.0, 1.0],
        age=[0.0, 0.0, 0.0]))
    assert a.metrics["cpu.percent"] == 11.0 and a.figures == {}
    assert b.metrics["cpu.percent"] == 21.0 and b.status == "up" and c.status == "up"
    assert model.take_dirty() == {"b", "c"}
    # a host forgotten, and one new: the digest's list changed
    model.apply_host("b1", "c", "forgotten", 1002.0)
    assert model.apply_digest("b1", _digest(["a", "b", "d"], "uuu", cpu=[1.0, 2.0, 3.0]))
    assert set(model.hosts) == {"a", "b", "d"} and model.hosts["d"].metrics["cpu.percent"] == 3.0


def test_digest_with_columns_not_matching_its_hosts_is_ignored() -> None:
    model = FleetModel()
    assert not model.apply_digest("b1", _digest(["a", "b"], "uu", cpu=[1.0]))
    assert not model.apply_digest("b1", _digest(["a", "b"], "u", cpu=[1.0, 2.0]))
    assert model.hosts == {} and model.bad_digests == 2


def test_a_host_the_view_moved_off_keeps_only_what_the_digest_feeds() -> None:
    """Followed, a host holds every series' history (120 samples); once the digest feeds it
    again (scrolled out of a big fleet's view) it keeps cpu, mem, load and the cpu trend's
    last 16, so scrolling through 10,000 hosts does not keep thousands of full records."""
    from tui.model import DIGEST_HISTORY, HISTORY

    model = FleetModel()
    model.apply_digest("b1", _digest(["a", "b"], "uu", cpu=[1.0, 2.0]))
    for i in range(HISTORY):
        model.apply_metrics("b1", "a", 1000.0 + i, {
            "cpu.percent": float(i), "mem.percent": 50.0, "load.1": 1.0, "swap.percent": 3.0,
            "disk./.percent": 70.0, "net.eth0.rx_bps": 9.0})
    a = model.hosts["a"]
    assert len(a.history) == 6 and len(a.history["cpu.percent"]) == HISTORY
    model.apply_digest("b1", _digest(["a", "b"], "uu", cpu=[99.0, 2.0]))  # still followed
    assert len(a.history) == 6 and a.metrics["cpu.percent"] == HISTORY - 1
    a.fed_at -= 10.0  # no metrics frame for 10 s: the view moved on
    model.apply_digest("b1", _digest(["a", "b"], "uu", cpu=[42.0, 2.0], mem=[60.0, 1.0],
                                     disk=[71.0, 1.0], rx=[5.0, 1.0], tx=[6.0, 1.0]))
    assert set(a.history) == {"cpu.percent"}
    assert list(a.history["cpu.percent"]) == [
        *map(float, range(HISTORY - DIGEST_HISTORY + 1, HISTORY)), 42.0]
    assert a.metrics == {"cpu.percent": 42.0, "mem.percent": 60.0, "load.1": 1.0}
    assert a.busiest_disk() == ("", 71.0) and a.net("rx") == 5.0
    model.apply_metrics("b1", "a", 2000.0, {"cpu.percent": 7.0, "swap.percent": 4.0})
    assert len(a.history["cpu.percent"]) == DIGEST_HISTORY + 1  # followed again: 120 long
    assert a.history["cpu.percent"].maxlen == HISTORY and a.metrics["swap.percent"] == 4.0


def test_a_snapshot_makes_no_history_series_for_metrics_without_one() -> None:
    """A brief picture's hosts off screen come with a dashboard row's metrics and no
    history: each gets the cpu trend's series only (a deque is 760 bytes: 10 metrics x
    10,000 hosts of them grew the console by ~100 MB at a rewind); a series it keeps still
    takes the value. A detail host, or any host of a snapshot that is not brief, starts a
    series for every figure (the host screen draws one beside each)."""
    model = FleetModel()
    row = {"cpu.percent": 5.0, "mem.percent": 6.0, "load.1": 0.5, "disk./.percent": 40.0,
           "net.eth0.rx_bps": 1.0}
    small = FleetModel()  # not brief (a small fleet): every figure starts its series
    small.apply_snapshot("b1", {"brief": False, "hosts": [{"host": "h", "metrics": row}]})
    assert set(small.hosts["h"].history) == set(row)
    model.apply_snapshot("b1", {"brief": True, "hosts": [
        {"host": "brief", "metrics": row},
        {"host": "full", "metrics": {**row, "proc.count": 9.0},
         "history": {"cpu.percent": [1.0, 2.0], "mem.percent": [3.0]}}]})
    brief, full = model.hosts["brief"], model.hosts["full"]
    assert set(brief.history) == {"cpu.percent"} and list(brief.history["cpu.percent"]) == [5.0]
    assert brief.metrics == row  # every figure still shown
    assert set(full.history) == {*row, "proc.count"}  # a detail host (on screen): all
    assert list(full.history["cpu.percent"]) == [1.0, 2.0]
    assert list(full.history["proc.count"]) == [9.0]
    model.apply_snapshot("b1", {"brief": True, "hosts": [{"host": "brief", "metrics": {**row, "cpu.percent": 7.0,
                                                                          "mem.percent": 8.0}}]})
    assert list(brief.history["cpu.percent"]) == [5.0, 7.0] and "mem.percent" not in brief.history
