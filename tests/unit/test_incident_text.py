"""The ticket paragraph (core/incident_text.py): the same words in the console and ctl."""

from __future__ import annotations

from core.incident_text import summary, value_vs_threshold

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def alert(**kw: object) -> dict[str, object]:
    base = {"id": "ab12", "rule": "disk_full", "host": "db-1", "severity": "warning",
            "state": "firing", "metric": "disk./var.percent", "value": 91.5, "threshold": 85.0,
            "op": ">", "kind": "threshold", "started_at": T0 - 3725, "episode": "ep9"}
    return {**base, **kw}


def test_value_against_threshold_in_the_metrics_unit() -> None:
    assert value_vs_threshold(alert()) == "disk./var.percent 91.5% (threshold > 85.0%)"
    rx = alert(metric="net.eth0.rx_bps", value=12_500_000.0, threshold=1e7)
    assert value_vs_threshold(rx) == "net.eth0.rx_bps 12.5 MB/s (threshold > 10 MB/s)"
    down = alert(kind="host_down", metric="up", value=0.0, threshold=0.0)
    assert "threshold" not in value_vs_threshold(down)


def test_a_resolved_acked_alert_reads_as_one_paragraph() -> None:
    inc = {"now": T0, "alert": alert(state="resolved", resolved_at=T0 - 60, acked=True,
                                     ack={"author": "ana", "ts": T0 - 3000, "comment": "on it"}),
           "notifications": [{"receiver": "pager", "status": "delivered"},
                             {"receiver": "pager", "status": "delivered"}],
           "processes": {"start": None, "now": {"ts": T0, "top": [
               {"pid": 7, "name": "pg_dump", "cpu_percent": 34.0, "rss": 2**30}]}},
           "others": [{"rule": "high_cpu_usage", "severity": "critical", "state": "firing"},
                      {"rule": "old", "severity": "warning", "state": "resolved"}]}
    text = summary(inc)
    assert "\n" not in text
    assert text.startswith("WARNING disk_full on db-1: resolved: started 2023-11-14 21:11:15 UTC"
                           ", lasted 1h 1m, resolved 2023-11-14 22:12:20 UTC; disk./var.percent "
                           "91.5% (threshold > 85.0%).")
    assert 'Acknowledged by ana at 2023-11-14 21:23:20 UTC ("on it").' in text
    assert "Notifications: pager delivered x2." in text
    assert "at the start: not recorded; now: pg_dump (7) 34.0% cpu 1 GiB." in text
    assert "Other alerts on db-1: high_cpu_usage (critical, firing)." in text
    assert text.endswith("Alert ab12, episode ep9.")
