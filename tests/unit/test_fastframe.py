"""core/fastframe.py accepts exactly what protocol.validate accepts."""

from __future__ import annotations

import math
import time

import pytest

from core import fastframe, protocol

NOW = time.time()


def parts(frame):
    return protocol.encode(frame)


def good(host="web-1", **over):
    f = protocol.metrics_frame(host, "agent-1", "boot-1", 5, NOW, {"cpu.percent": 1.5,
                                                                   "load.1": 2})
    f.update(over)
    return f


@pytest.mark.parametrize("change", [
    {"metrics": {"cpu.percent": math.nan}},
    {"metrics": {"cpu.percent": math.inf}},
    {"metrics": {"cpu.percent": True}},
    {"metrics": {"cpu.percent": "1"}},
    {"metrics": {"": 1.0}},
    {"metrics": {}},
    {"ts": NOW + 3600},
    {"ts": math.nan},
    {"ts": True},
    {"seq": -1},
    {"seq": True},
    {"v": 2},
    {"boot": ""},
    {"agent": "a\x00b"},
    {"labels": {"k": 1}},
    {"fast": "yes"},
])
def test_a_known_host_gets_no_pass_for_a_bad_frame(change):
    fastframe.decode(parts(good()), NOW)  # the host, agent and boot are known valid now
    bad = good(**change)
    reason = protocol.validate(bad, NOW)
    assert reason
    with pytest.raises(protocol.ProtocolError) as exc:
        fastframe.decode(parts(bad), NOW)
    assert str(exc.value) == reason


def test_bad_host_names_are_refused_with_the_full_reason():
    bad = good(host="wеb-1")  # Cyrillic е
    with pytest.raises(protocol.ProtocolError, match="non-ASCII"):
        fastframe.decode(parts(bad), NOW)


def test_the_fast_path_is_taken_only_for_a_known_agent():
    f = good(host="fast-path-1")
    assert not fastframe.plain_ok(f, NOW)
    assert fastframe.decode(parts(f), NOW) == f
    assert fastframe.plain_ok(f, NOW)
    assert not fastframe.plain_ok(good(host="fast-path-1", boot="boot-2"), NOW)
    assert not fastframe.plain_ok(good(host="fast-path-1", labels={"a": "b"}), NOW)
    labelled = good(host="fast-path-1", labels={"a": "b"})
    assert fastframe.decode(parts(labelled), NOW) == labelled  # the full check accepts it
