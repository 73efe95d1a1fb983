"""A catastrophic regex in a silence, route or rule is refused or runs in linear time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.procs import Broker

pytestmark = pytest.mark.integration

EVIL_HOST = "a" * 25 + "_"  # (a+)+$ backtracks 2**25 times on this with Python's re


def test_a_catastrophic_silence_does_not_freeze_the_core_loop(tmp_path: Path) -> None:
    b = Broker(tmp_path / "data")
    try:
        b.ctl_json("simulate", "high_cpu_usage", "--host", EVIL_HOST)
        b.ctl_json("silence", "host=~(a+)+$", "--for", "1h")
        b.ctl_json("simulate", "high_cpu_usage", "--host", "web-1")
        t0 = time.monotonic()
        alerts = b.ctl_json("alerts")
        b.ctl_json("status")
        took = time.monotonic() - t0
        assert {a["host"] for a in alerts} == {EVIL_HOST, "web-1"}
        assert not any(a["silenced"] for a in alerts)  # the name ends in "_": no match
        assert took < 1.5, f"alerts + status took {took:.2f} s"
    finally:
        b.stop()


@pytest.mark.parametrize(("matcher", "named"), [
    (r"host=~(a)\1", "back-reference"),
    ("host=~(?=web).*", "look-ahead"),
    ("host=~(?<!x)web", "look-behind"),
    ("host=~" + "a" * 2000, "characters long, the limit is"),
], ids=["backref", "lookahead", "lookbehind", "too-long"])
def test_what_re2_cannot_run_is_refused_naming_the_construct(tmp_path: Path, matcher: str,
                                                             named: str) -> None:
    b = Broker(tmp_path / "data")
    try:
        out = b.ctl("silence", matcher, "--for", "1h")
        assert out.returncode == 1 and named in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
        assert b.ctl_json("silences") == []
        assert b.proc.poll() is None
    finally:
        b.stop()
