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


def _raw_reason(payload: bytes) -> str:
    try:
        obj = protocol.unpack(payload)
    except protocol.ProtocolError as exc:
        return str(exc)
    return protocol.validate(obj, NOW) or ""


@pytest.mark.parametrize("payload", [
    protocol.pack(good()) + b"\x01",  # trailing bytes: msgspec and msgpack both refuse
    protocol.pack(good())[:-3],  # cut short
    b"\x88" + b"".join(protocol.pack(x) for x in (  # an int key: msgspec would take it
        1, 1, "kind", "metrics", "host", "web-1", "agent", "agent-1", "boot", "boot-1",
        "seq", 5, "ts", NOW, "metrics", {"cpu.percent": 1.5})),
    protocol.pack(good(metrics={"cpu.percent": 1.5, 7: 2.0})),  # an int metric name
    b"\x81\xa1x\xc7\x01\x05\x00",  # an ext type
], ids=["trailing-bytes", "cut-short", "int-key", "int-metric-name", "ext-type"])
# (ids: the payloads hold the collection time, which differs between xdist workers)
def test_what_msgspec_decodes_otherwise_gets_msgpacks_reason(payload):
    fastframe.decode(parts(good()), NOW)  # the host, agent and boot are known valid now
    reason = _raw_reason(payload)
    assert reason
    with pytest.raises(protocol.ProtocolError) as exc:
        fastframe.decode([b"m.web-1\0", payload], NOW)
    assert str(exc.value) == reason
