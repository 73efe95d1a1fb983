from __future__ import annotations

import math
import time
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import protocol
from core.protocol import ProtocolError

NOW = 1_700_000_000.0


def good(**over: Any) -> dict[str, Any]:
    frame = protocol.metrics_frame("web-1", "agent-1", "boot-1", 7, NOW, {"cpu.percent": 42.0},
                                   labels={"role": "web"})
    frame.update(over)
    return frame


def test_round_trip_and_topics() -> None:
    frame = good()
    parts = protocol.encode(frame)
    assert parts[0] == b"m.web-1\0"
    assert protocol.decode(parts, NOW) == frame
    log = protocol.log_frame("web-1", "a", "b", 1, NOW, source="/var/log/syslog",
                             level="error", message="disk on fire")
    assert protocol.topic_for(log) == b"l.web-1\0"
    log_event = protocol.event_frame({"kind": "log", "host": "web-1", "ts": NOW})
    assert protocol.topic_for(log_event) == b"l.web-1\0"  # stored log events keep l.<host>
    alert = protocol.alert_frame({"host": "web-1", "severity": "critical"}, NOW)
    assert protocol.topic_for(alert) == b"a.critical\0"
    event = protocol.event_frame({"kind": "ack", "host": "", "ts": NOW})
    assert protocol.topic_for(event) == b"e.ack\0"
    assert protocol.topic_for(protocol.host_frame("db-1", "down", NOW)) == b"h.db-1\0"
    assert protocol.topic_for(protocol.digest_frame({}, NOW)) == b"d.fleet\0"


def test_a_host_topic_never_matches_a_longer_host_name() -> None:
    """ZeroMQ matches subscriptions as byte prefixes: the topic's end byte keeps db-1 from
    matching db-10 or db-1.example.com."""
    sub = protocol.host_topic("db-1")
    for other in ("db-10", "db-1.example.com", "db-1-b"):
        assert not protocol.encode(good(host=other))[0].startswith(sub)
    assert protocol.encode(good(host="db-1"))[0].startswith(sub)
    assert all(protocol.encode(good(host=h))[0].startswith(b"m.") for h in ("db-1", "db-10"))
    with pytest.raises(protocol.ProtocolError, match="control characters"):
        protocol.decode(protocol.encode(good(host="db-1\0")), NOW)  # no name holds the end


def test_publish_stream_clients_take_a_big_digest_ingest_does_not() -> None:
    names = [f"host-{i:05d}" for i in range(30_000)]  # about 400 KiB packed
    parts = protocol.encode(protocol.digest_frame({"hosts": names}, NOW))
    assert len(parts[1]) > protocol.MAX_FRAME_BYTES
    assert protocol.decode(parts, NOW, cap=protocol.MAX_PUBLISH_MSG)["digest"]["hosts"] == names
    with pytest.raises(protocol.ProtocolError, match="over the 262144 byte cap"):
        protocol.decode(parts, NOW)


@pytest.mark.parametrize("entries", [1, 8, 14, 15, 16, 300])
def test_with_pseq_splices_into_the_packed_map(entries: int) -> None:
    frame = {f"k{i}": i for i in range(entries)}
    payload = protocol.pack(frame)
    assert protocol.unpack(protocol.with_pseq(payload, 77)) == {**frame, "pseq": 77}
    assert protocol.unpack(protocol.with_pseq(payload, 2**40))["pseq"] == 2**40
    with pytest.raises(ValueError):
        protocol.with_pseq(protocol.pack([1, 2]), 1)


@pytest.mark.parametrize("frame,reason", [
    ([1, 2], "frame must be a map, got list"),
    ({"kind": "metrics"}, "missing field 'v'"),
    (good(v=2), "unsupported protocol version 2"),
    (good(kind="bogus"), "unknown kind 'bogus'"),
    (good(ts="now"), "field 'ts' must be a finite number"),
    (good(ts=math.inf), "field 'ts' must be a finite number"),
    (good(ts=NOW + 3600), "s from now"),
    (good(host=""), "field 'host' must not be empty"),
    (good(host=5), "field 'host' must be a string, got int"),
    (good(seq=-1), "field 'seq' must be a non-negative integer"),
    (good(seq=True), "field 'seq' must be a non-negative integer"),
    (good(metrics=[1]), "field 'metrics' must be a map"),
    (good(metrics={}), "field 'metrics' is empty"),
    (good(metrics={"cpu": "high"}), "metric 'cpu' must be a number, got str"),
    (good(metrics={"cpu": math.nan}), "metric 'cpu' is nan"),
    (good(metrics={"cpu": -math.inf}), "metric 'cpu' is -inf"),
    (good(metrics={"cpu": True}), "metric 'cpu' must be a number, got bool"),
    (good(labels={"a": 1}), "label 'a'=1 must map a string to a string"),
    (good(metrics={f"m{i}": 1.0 for i in range(protocol.MAX_METRICS_PER_FRAME + 1)}),
     "metrics in one frame, over the"),
    (good(host="h" * 500), "over the 200 limit"),
])
def test_validate_names_what_is_wrong(frame: Any, reason: str) -> None:
    got = protocol.validate(frame, NOW)
    assert got is not None and reason in got, got


def test_valid_frames_of_every_agent_kind() -> None:
    assert protocol.validate(good(), NOW) is None
    assert protocol.validate(protocol.hello_frame("h", "a", "b", 0, NOW, {"os": "Linux"}),
                             NOW) is None
    assert protocol.validate(protocol.log_frame("h", "a", "b", 0, NOW, source="s",
                                                level="info", message=""), NOW) is None


def test_decode_rejects_bad_msgpack_and_oversize() -> None:
    with pytest.raises(ProtocolError, match="bad msgpack"):
        protocol.decode([b"t", b"\xc1"], NOW)
    with pytest.raises(ProtocolError, match="byte cap"):
        protocol.decode([b"t", b"\x00" * (protocol.MAX_FRAME_BYTES + 1)], NOW)
    with pytest.raises(ProtocolError, match="expected 2 message parts"):
        protocol.decode([b"t"], NOW)


def test_control_request_round_trip_and_errors() -> None:
    assert protocol.parse_request(protocol.request("r1", "ack", alert_id="x")) == \
        ("r1", "ack", {"alert_id": "x"})
    with pytest.raises(ProtocolError, match="'op' must be a non-empty string"):
        protocol.parse_request(msgpack.packb({"id": "r", "op": 3}))
    with pytest.raises(ProtocolError, match="'args' must be a map"):
        protocol.parse_request(msgpack.packb({"id": "r", "op": "x", "args": [1]}))
    assert protocol.unpack(protocol.reply_error("r", "nope")) == \
        {"id": "r", "ok": False, "error": "nope"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes_decode_or_give_a_reason(data: bytes) -> None:
    try:
        frame = protocol.decode([b"t", data], NOW)
    except ProtocolError as exc:
        assert str(exc)
    else:
        assert protocol.validate(frame, NOW) is None


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["v", "kind", "host", "agent", "boot", "seq", "ts",
                                        "metrics", "labels", "info", "source", "level",
                                        "message"]), json_like))
def test_validate_never_raises_on_frame_shaped_maps(obj: dict[str, Any]) -> None:
    reason = protocol.validate(obj, NOW)
    assert reason is None or isinstance(reason, str)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=30).filter(str.isprintable),
                       st.floats(allow_nan=False, allow_infinity=False), min_size=1,
                       max_size=20))
def test_any_finite_metrics_round_trip(metrics: dict[str, float]) -> None:
    frame = protocol.metrics_frame("h", "a", "b", 0, time.time(), metrics)
    assert protocol.decode(protocol.encode(frame))["metrics"] == metrics


def test_huge_but_finite_values_are_valid_and_labels_still_checked() -> None:
    assert protocol.validate(good(metrics={"a": 1e308, "b": 1e308}), NOW) is None
    assert "label" in (protocol.validate(good(metrics={"a": 1e308, "b": 1e308},
                                              labels={"x": 1}), NOW) or "")


def test_replies_may_exceed_the_frame_cap_but_not_the_reply_cap() -> None:
    big = protocol.reply_ok("r", "x" * (protocol.MAX_FRAME_BYTES * 2))
    assert protocol.unpack_reply(big)["ok"] is True
    with pytest.raises(ProtocolError, match="byte cap"):
        protocol.unpack(big)
    with pytest.raises(ProtocolError, match="byte cap"):
        protocol.unpack_reply(b"\x00" * (protocol.MAX_REPLY_BYTES + 1))


@pytest.mark.parametrize(("frame", "reason"), [
    (good(host="web\x1b[2J"), "field 'host' 'web\\x1b[2J' has control characters"),
    (good(host=" \n\t"), "field 'host' ' \\n\\t' has control characters"),
    (good(metrics={"cpu\n.percent": 1.0}), "metric name 'cpu\\n.percent' has control"),
    (good(labels={"dc": "a\x07"}), "label 'dc'='a\\x07' must be a non-empty name"),
    (protocol.hello_frame("h", "a", "b", 0, NOW, {b"os": "x"}), "field 'info' has a bytes key"),
    (protocol.hello_frame("h", "a", "b", 0, NOW, {"x": {"y": b"z"}}),
     "field 'info.x.y' holds bytes"),
    ({**protocol.log_frame("h", "a", "b", 0, NOW, source="s", level="info", message="m"),
      "dropped": "lots"}, "field 'dropped' must be a non-negative integer"),
])
def test_names_with_control_characters_and_odd_hello_info_are_rejected(
        frame: dict[str, Any], reason: str) -> None:
    """Host and metric names reach terminals (monitor-ctl, the TUI) as they are, and a hello
    info with a binary key made every `monitor-ctl --json hosts` fail with a traceback."""
    assert (protocol.validate(frame, NOW) or "").startswith(reason)


def test_log_messages_keep_their_tabs_and_colours() -> None:
    frame = protocol.log_frame("h", "a", "b", 0, NOW, source="s", level="info",
                               message="\x1b[31mred\x1b[0m\tx")
    assert protocol.validate(frame, NOW) is None
