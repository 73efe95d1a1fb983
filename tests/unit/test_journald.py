import json
import sys
import threading
import time

import pytest

from agents.journald import JournaldFollower, parse_entry
from core.clock import FakeClock


@pytest.mark.parametrize("entry, expected", [
    ({"MESSAGE": "disk error", "PRIORITY": "3", "SYSLOG_IDENTIFIER": "kernel",
      "__REALTIME_TIMESTAMP": "1700000000500000"},
     ("journald:kernel", "error", "disk error", 1_700_000_000.5)),
    ({"MESSAGE": "started", "_SYSTEMD_UNIT": "nginx.service", "PRIORITY": "6"},
     ("journald:nginx.service", "info", "started", 5.0)),
    ({"MESSAGE": [104, 105], "PRIORITY": "4"}, ("journald:journal", "warning", "hi", 5.0)),
    ({"MESSAGE": "x", "PRIORITY": "bogus"}, ("journald:journal", "info", "x", 5.0)),
    ({"MESSAGE": "x", "PRIORITY": "0"}, ("journald:journal", "critical", "x", 5.0)),
    ({"MESSAGE": "x", "PRIORITY": "7"}, ("journald:journal", "debug", "x", 5.0)),
    ({"PRIORITY": "3"}, None),
    ({"MESSAGE": None}, None),
])
def test_parse_entry(entry, expected):
    assert parse_entry(entry, now=5.0) == expected


def test_follows_a_journalctl_like_process():
    lines = [json.dumps({"MESSAGE": f"m{i}", "PRIORITY": "3", "SYSLOG_IDENTIFIER": "app"})
             for i in range(3)] + ["not json", "[1, 2]"]
    script = "import sys\n" + "".join(f"print({line!r})\n" for line in lines)
    events = []
    f = JournaldFollower(lambda *e: events.append(e), clock=FakeClock(),
                         command=[sys.executable, "-c", script])
    try:
        f.start()
        deadline = time.monotonic() + 10
        while len(events) < 3 and time.monotonic() < deadline:
            try:
                f.poll()
            except RuntimeError:
                pass  # the fake journalctl exits after printing
            threading.Event().wait(0.01)
        assert [e[2] for e in events] == ["m0", "m1", "m2"]
        assert {e[1] for e in events} == {"error"}
    finally:
        f.close()
    assert not f.running


def test_run_stops_and_reaps_the_process():
    stop = threading.Event()
    f = JournaldFollower(lambda *e: None,
                         command=[sys.executable, "-c", "import signal; signal.pause()"])
    stop.set()
    f.run(stop)
    assert not f.running


def test_available_is_a_bool():
    assert JournaldFollower.available() in (True, False)
