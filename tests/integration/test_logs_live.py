"""Log capture end to end: a real agent follows a real file; the broker stores and alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration

RULES = '''
[[rule]]
name = "app_errors"
kind = "log"
pattern = "(?i)\\\\berror\\\\b"
count = 3
over = "1m"
severity = "critical"
summary = "{host}: {value:.0f} errors in the last minute"
'''


def test_log_lines_are_searchable_and_drive_log_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    broker = Broker(tmp_path / "data", "--rules", str(rules))
    log = tmp_path / "app.log"
    log.write_text("old line that was there before the agent started\n")
    agent = start_agent(broker.endpoints["ingest"], "--host", "logger", "--interval", "0.2",
                        "--log-file", str(tmp_path / "*.log"))
    try:
        wait_for(lambda: [h for h in broker.ctl_json("hosts") if h["host"] == "logger"],
                 timeout=10, what="agent up")

        def append(text: str) -> None:
            with log.open("a") as fh:
                fh.write(text)

        append("INFO payment service started\n")
        append("ERROR payment gateway refused the card: upstream 502\n"
               "Traceback (most recent call last):\n"
               '  File "pay.py", line 3, in charge\n'
               "RuntimeError: gateway\n")
        found = wait_for(lambda: broker.ctl_json("search", "gateway", "host:logger"),
                         timeout=10, what="the error line in the event log")
        ev = found[0]
        assert ev["kind"] == "log" and ev["host"] == "logger"
        assert "Traceback" in ev["message"]  # the stack trace stayed one event
        assert ev["data"]["level"] == "error"
        assert not broker.ctl_json("search", "before the agent started")
        append("ERROR second\nERROR third\n")
        firing = wait_for(lambda: [a for a in broker.ctl_json("alerts")
                                   if a["rule"] == "app_errors" and a["state"] == "firing"],
                          timeout=10, what="log rule firing")
        assert firing[0]["host"] == "logger" and firing[0]["severity"] == "critical"
        # rotation by rename: the new file is followed too
        log.rename(tmp_path / "app.log.1")
        log.write_text("WARN after rotation\n")
        wait_for(lambda: broker.ctl_json("search", "rotation"), timeout=10,
                 what="line from the new file")
    finally:
        stop_proc(agent)
        broker.stop()
