"""monitor-ctl status: the lines for a broker behind on ingest and a store check running."""

from __future__ import annotations

from typing import Any

from ctl import format as fmt


def status(ingest: dict[str, Any], store: dict[str, Any]) -> dict[str, Any]:
    return {"uptime": 5.0, "pseq": 1, "hosts_up": 1, "hosts": 1, "series": 3, "alerts": 0,
            "ingest": {"frames": 9, "rate": 1.0, "rejected": 0, "rejected_by_reason": {},
                       **ingest},
            "store": store, "endpoints": {"ingest": "tcp://127.0.0.1:1"}, "supervisor": []}


def test_behind_and_check_lines_show_only_when_they_say_something() -> None:
    quiet = fmt.status(status({"behind_s": 0.2}, {"state": "ok", "check": "ok"}))
    assert "behind" not in quiet and "integrity check" not in quiet
    busy = fmt.status(status({"behind_s": 12.5}, {"state": "ok", "check": "running"}))
    assert "behind: 12.5s since every frame sent was read" in busy
    assert "store: integrity check running" in busy
