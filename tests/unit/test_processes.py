"""Process rows: masking of secrets, the sampler's wire form, and protocol validation."""

from __future__ import annotations

import os
import time

import pytest

from agents.processes import MASK, ProcessSampler, mask_cmdline
from core import protocol


@pytest.mark.parametrize(("args", "hidden", "kept"), [
    (["psql", "--password=hunter2"], "hunter2", "--password=***"),
    (["mysql", "-p", "hunter2", "db"], "hunter2", "-p *** db"),
    (["app", "--token", "abc123"], "abc123", "--token ***"),
    (["env", "PGPASSWORD=s3cret", "x"], "s3cret", "PGPASSWORD=***"),
    (["curl", "https://bob:pw123@example.com/x"], "pw123", "https://bob:***@example.com/x"),
    (["svc", "--api-key=k1", "--verbose"], "k1", "--api-key=*** --verbose"),
    (["/usr/bin/mysqldump", "-p", "pw9", "db"], "pw9", "-p *** db"),
    (["redis-cli", "-a", "r3dis", "ping"], "r3dis", "-a *** ping"),
])
def test_secrets_in_arguments_are_masked(args: list[str], hidden: str, kept: str) -> None:
    out = mask_cmdline(args)
    assert hidden not in out
    assert kept in out and MASK in out


@pytest.mark.parametrize("args", [
    ["ssh", "-p", "2222", "db-1"],
    ["psql", "-h", "db", "-p", "5432", "app"],
    ["mkdir", "-p", "/var/lib/app"],
    ["redis-server", "-a", "x"],
])
def test_short_flags_hide_nothing_for_programs_that_do_not_take_a_secret_there(
        args: list[str]) -> None:
    assert mask_cmdline(args) == " ".join(args)


def test_plain_arguments_stay_and_long_lines_are_cut() -> None:
    assert mask_cmdline(["nginx", "-g", "daemon off;"]) == "nginx -g daemon off;"
    out = mask_cmdline(["x" * 500], limit=50)
    assert len(out) == 50 and out.endswith("…")


def test_sampler_rows_validate_and_include_this_process() -> None:
    s = ProcessSampler(top=protocol.MAX_PROC_TOP)
    rows = s.sample(time.time())
    assert 0 < len(rows) <= 2 * protocol.MAX_PROC_TOP
    frame = protocol.metrics_frame("h", "a", "b", 0, time.time(), {"x": 1.0}, procs=rows)
    assert protocol.validate(frame) is None
    pids = {p["pid"] for p in protocol.process_dicts(rows)}
    assert os.getpid() in pids or len(rows) >= protocol.MAX_PROC_TOP


def test_sampler_rejects_a_bad_top() -> None:
    with pytest.raises(ValueError, match="top processes"):
        ProcessSampler(top=0)


@pytest.mark.parametrize(("procs", "why"), [
    ("x", "must be a list"),
    ([[1, "n", "u", "c", 1.0, 2]], "each row"),
    ([[1, "n", "u", "c", float("nan"), 2, 1]], "finite"),
    ([["1", "n", "u", "c", 1.0, 2, 1]], "pid"),
    ([[1, "n\x1b[2J", "u", "c", 1.0, 2, 1]], "unprintable"),
    ([[1, "n", "u", "c", -1.0, 2, 1]], ">= 0"),
    ([[1, "n", "u", "c", 1.0, 2, 1]] * 101, "at most"),
])
def test_bad_process_rows_are_rejected_with_a_reason(procs: object, why: str) -> None:
    frame = protocol.metrics_frame("h", "a", "b", 0, time.time(), {"x": 1.0})
    frame["procs"] = procs
    reason = protocol.validate(frame)
    assert reason is not None and why in reason, reason


def test_fast_flag_must_be_a_bool() -> None:
    frame = protocol.metrics_frame("h", "a", "b", 0, time.time(), {"x": 1.0}, fast=True)
    assert protocol.validate(frame) is None
    frame["fast"] = "yes"
    assert "fast" in (protocol.validate(frame) or "")


def test_proc_pass_agrees_with_psutil_for_this_process() -> None:
    import psutil

    from agents.processes import proc_stat_pass

    if not os.path.exists("/proc/self/stat"):
        pytest.skip("no /proc here")
    me = psutil.Process()
    [(pid, cpu, rss, threads, start)] = [r for r in proc_stat_pass() if r[0] == os.getpid()]
    times = me.cpu_times()
    assert abs(cpu - (times.user + times.system)) < 0.5
    assert abs(rss - me.memory_info().rss) < 8 * 2**20  # both read the kernel's count
    assert threads == me.num_threads() and start is not None


def test_both_passes_give_the_same_rows_shape() -> None:
    for use_proc in (True, False) if os.path.exists("/proc/self/stat") else (False,):
        rows = ProcessSampler(top=3, use_proc=use_proc).sample(time.time())
        assert rows and all(len(r) == len(protocol.PROCESS_FIELDS) for r in rows)
        frame = protocol.metrics_frame("h", "a", "b", 0, time.time(), {"x": 1.0}, procs=rows)
        assert protocol.validate(frame) is None
