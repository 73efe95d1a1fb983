"""The wire contract: versioned msgpack frames, topics, validation and the socket codec.

Nothing else in the project builds frames by hand. Every frame is a multipart message
``[topic, payload]`` where ``payload`` is a msgpack map. See DESIGN.md, "Wire contract".

Agent frames (agent -> broker ingest): ``metrics``, ``log``, ``hello``.
Broker frames (broker publish -> clients): the agent frames republished (with ``pseq``, the
broker's publish sequence number, added), plus ``alert``, ``event`` and ``host``.
Control (DEALER -> ROUTER): ``request`` maps ``{"id", "op", "args"}`` and ``reply`` maps
``{"id", "ok", "result" | "error"}``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import msgpack

from core.hostnames import MAX_NAME_LEN, host_name_error  # noqa: F401 - one host-name rule
from core.ops import OPS, ROLE_RANK, ROLES, Op  # noqa: F401 - control vocabulary
from core.procs import (  # noqa: F401 - the procs field is part of the contract
    MAX_PROC_CMD,
    MAX_PROC_TOP,
    PROCESS_FIELDS,
    process_dicts,
    validate_procs,
)
from core.topics import (  # noqa: F401 - the topics are part of the wire contract
    FLEET_TOPICS,
    PER_HOST,
    TOPIC_END,
    host_topic,
    host_topics,
    topic,
    topic_for,
    with_pseq,
)

VERSION = 1
MAX_FRAME_BYTES = 256 * 1024
MAX_REPLY_BYTES = 64 * 2**20  # control replies: a 1,000-host snapshot is over 1 MB
# ZMQ_MAXMSGSIZE per socket role: a bigger message drops the connection inside libzmq
# before a byte of it is buffered (a 300 MB frame took the broker from 82 to 645 MB).
MAX_INGEST_MSG = 4 * 2**20  # broker SUB (ingest); frames are validated at MAX_FRAME_BYTES
MAX_REQUEST_MSG = 1 * 2**20  # broker ROUTER (control requests)
MAX_PUBLISH_MSG = 4 * 2**20  # clients' SUB on the publish stream
MAX_METRICS_PER_FRAME = 5000
MAX_CLOCK_SKEW_S = 300.0
MAX_MESSAGE_LEN = 16 * 1024

SEVERITIES = ("info", "warning", "critical")  # mildest first: an index is a rank
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

AGENT_KINDS = ("metrics", "log", "hello", "goodbye")  # goodbye: a clean agent stop
BROKER_KINDS = ("alert", "event", "host", "digest")
KINDS = AGENT_KINDS + BROKER_KINDS


class ProtocolError(ValueError):
    """A frame that cannot be accepted; ``str(err)`` is a reason a person can read."""


# ---------------------------------------------------------------- codec


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data: bytes, cap: int = MAX_FRAME_BYTES) -> Any:
    """Decode msgpack; frames on the wire are capped at 256 KiB, control replies at
    ``MAX_REPLY_BYTES`` (use ``unpack_reply``)."""
    if len(data) > cap:
        raise ProtocolError(f"frame of {len(data)} bytes is over the {cap} byte cap")
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(f"bad msgpack: {exc.__class__.__name__}: {exc}") from None


def encode(frame: Mapping[str, Any]) -> list[bytes]:
    """A frame as the two parts of a multipart message."""
    return [topic_for(frame), pack(dict(frame))]


def decode(parts: list[bytes], now: float | None = None, cap: int = MAX_FRAME_BYTES
           ) -> dict[str, Any]:
    """Parse and validate a received multipart message; raises ProtocolError with a reason.
    Clients of the publish stream pass ``cap=MAX_PUBLISH_MSG`` (the fleet digest of 10,000
    hosts is about 420 KiB)."""
    if len(parts) != 2:
        raise ProtocolError(f"expected 2 message parts [topic, payload], got {len(parts)}")
    obj = unpack(parts[1], cap)
    reason = validate(obj, now)
    if reason:
        raise ProtocolError(reason)
    return obj


def send_frame(sock: Any, frame: Mapping[str, Any], flags: int = 0) -> None:
    sock.send_multipart(encode(frame), flags=flags, copy=False)


# ---------------------------------------------------------------- builders


def _base(kind: str, host: str, agent: str, boot: str, seq: int, ts: float) -> dict[str, Any]:
    return {"v": VERSION, "kind": kind, "host": host, "agent": agent, "boot": boot,
            "seq": seq, "ts": ts}


def metrics_frame(host: str, agent: str, boot: str, seq: int, ts: float,
                  metrics: Mapping[str, float],
                  labels: Mapping[str, str] | None = None,
                  procs: list[list[Any]] | None = None, fast: bool = False) -> dict[str, Any]:
    """``procs``: top processes as rows of ``PROCESS_FIELDS``; ``fast``: sent early by the
    agent's fast path on a threshold crossing (both optional, ignored by older brokers)."""
    frame = _base("metrics", host, agent, boot, seq, ts)
    frame["metrics"] = dict(metrics)
    if labels:
        frame["labels"] = dict(labels)
    if procs is not None:
        frame["procs"] = procs
    if fast:
        frame["fast"] = True
    return frame


def log_frame(host: str, agent: str, boot: str, seq: int, ts: float, *, source: str,
              level: str, message: str, dropped: int = 0) -> dict[str, Any]:
    frame = _base("log", host, agent, boot, seq, ts)
    frame.update(source=source, level=level, message=message[:MAX_MESSAGE_LEN])
    if dropped:
        frame["dropped"] = dropped
    return frame


def goodbye_frame(host: str, agent: str, boot: str, seq: int, ts: float) -> dict[str, Any]:
    """Sent by an agent on a clean stop: the host shows as ``stopped``, not down."""
    return _base("goodbye", host, agent, boot, seq, ts)


def hello_frame(host: str, agent: str, boot: str, seq: int, ts: float,
                info: Mapping[str, Any]) -> dict[str, Any]:
    frame = _base("hello", host, agent, boot, seq, ts)
    frame["info"] = dict(info)
    return frame


def alert_frame(alert: Mapping[str, Any], ts: float,
                event: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An alert change as published by the broker; ``alert`` is the engine's alert dict.

    ``event`` is the stored ``alert`` event of the change (its ``data.alert`` left out: it
    is ``alert``), so a live event log shows alert changes as they happen."""
    frame = {"v": VERSION, "kind": "alert", "host": alert.get("host", ""),
             "severity": alert.get("severity", "warning"), "ts": ts, "alert": dict(alert)}
    if event is not None:
        data = {k: v for k, v in (event.get("data") or {}).items() if k != "alert"}
        frame["event"] = {**event, "data": data}
    return frame


def event_frame(event: Mapping[str, Any]) -> dict[str, Any]:
    """Any other event (ack, silence, restart, ingest.rejected, notify...) as published."""
    return {"v": VERSION, "kind": "event", "host": event.get("host") or "",
            "ts": event.get("ts", time.time()), "event": dict(event)}


def host_frame(host: str, status: str, ts: float, info: Mapping[str, Any] | None = None
               ) -> dict[str, Any]:
    """Host status change as published by the broker: status is up, down or hello."""
    return {"v": VERSION, "kind": "host", "host": host, "status": status, "ts": ts,
            "info": dict(info or {})}


def digest_frame(digest: Mapping[str, Any], ts: float) -> dict[str, Any]:
    """The fleet digest the broker publishes once a second (broker/ingest/digest.py)."""
    return {"v": VERSION, "kind": "digest", "host": "", "ts": ts, "digest": dict(digest)}


# ---------------------------------------------------------------- validation


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_str(obj: Mapping[str, Any], key: str, *, empty_ok: bool = False,
               max_len: int = MAX_NAME_LEN) -> str | None:
    if key not in obj:
        return f"missing field '{key}'"
    val = obj[key]
    if not isinstance(val, str):
        return f"field '{key}' must be a string, got {type(val).__name__}"
    if not val and not empty_ok:
        return f"field '{key}' must not be empty"
    if len(val) > max_len:
        return f"field '{key}' is {len(val)} characters, over the {max_len} limit"
    if key != "message" and not val.isprintable():
        return f"field '{key}' {val!r} has control characters"
    return None


def validate(obj: Any, now: float | None = None) -> str | None:
    """None when ``obj`` is a valid frame, otherwise the reason it is not.

    Never raises, whatever ``obj`` is.
    """
    if not isinstance(obj, dict):
        return f"frame must be a map, got {type(obj).__name__}"
    if "v" not in obj:
        return "missing field 'v' (protocol version)"
    if obj["v"] != VERSION:
        return f"unsupported protocol version {obj['v']!r} (this broker speaks {VERSION})"
    kind = obj.get("kind")
    if kind not in KINDS:
        return f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})"
    if "ts" not in obj:
        return "missing field 'ts'"
    ts = obj["ts"]
    if not _is_num(ts) or not math.isfinite(ts):
        return f"field 'ts' must be a finite number, got {ts!r}"
    now = time.time() if now is None else now
    if abs(ts - now) > MAX_CLOCK_SKEW_S:
        return f"timestamp {ts:.0f} is {ts - now:+.0f} s from now (limit ±{MAX_CLOCK_SKEW_S:.0f} s)"
    if kind in AGENT_KINDS:
        for key in ("host", "agent", "boot"):
            if err := _check_str(obj, key):
                return err
        if err := host_name_error(obj["host"]):
            return err
        seq = obj.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            return f"field 'seq' must be a non-negative integer, got {seq!r}"
    if kind == "metrics":
        return _validate_metrics(obj)
    if kind == "log":
        for key, limit in (("source", 1024), ("level", 16), ("message", MAX_MESSAGE_LEN)):
            if err := _check_str(obj, key, empty_ok=key == "message", max_len=limit):
                return err
        dropped = obj.get("dropped", 0)
        if not isinstance(dropped, int) or isinstance(dropped, bool) or dropped < 0:
            return f"field 'dropped' must be a non-negative integer, got {dropped!r}"
        return None
    if kind == "goodbye":
        return None
    if kind == "hello":
        info = obj.get("info")
        if not isinstance(info, dict):
            return "field 'info' must be a map"
        return _plain(info, "info")
    if kind == "alert":
        return None if isinstance(obj.get("alert"), dict) else "field 'alert' must be a map"
    if kind == "event":
        return None if isinstance(obj.get("event"), dict) else "field 'event' must be a map"
    if kind == "digest":
        return None if isinstance(obj.get("digest"), dict) else "field 'digest' must be a map"
    return _check_str(obj, "host") or _check_str(obj, "status")


def _validate_metrics(obj: Mapping[str, Any]) -> str | None:
    metrics = obj.get("metrics")
    if not isinstance(metrics, dict):
        return "field 'metrics' must be a map of name to number"
    if not metrics:
        return "field 'metrics' is empty"
    if len(metrics) > MAX_METRICS_PER_FRAME:
        return f"{len(metrics)} metrics in one frame, over the {MAX_METRICS_PER_FRAME} limit"
    if not _metrics_fast_ok(metrics) and (reason := _metrics_reason(metrics)):
        return reason
    if "procs" in obj and (reason := validate_procs(obj["procs"])):
        return reason
    if not isinstance(obj.get("fast", False), bool):
        return "field 'fast' must be true or false"
    return _validate_labels(obj)


def _metrics_fast_ok(metrics: dict[Any, Any]) -> bool:
    """The hot path: a few C-level passes instead of a Python loop per metric. A host sends
    the same names every interval: a tuple of names seen valid before is not checked again."""
    values = metrics.values()
    if not set(map(type, values)) <= _NUM_TYPES:
        return False
    names = tuple(metrics)
    if names not in _NAMES_OK:
        if set(map(type, names)) != {str}:
            return False
        lengths = list(map(len, names))
        if min(lengths) < 1 or max(lengths) > MAX_NAME_LEN or not "".join(names).isprintable():
            return False
        if len(_NAMES_OK) >= _NAMES_OK_MAX:
            _NAMES_OK.clear()
        _NAMES_OK.add(names)
    try:
        # NaN and +-inf make the sum non-finite; so can huge finite values: slow path then
        return math.isfinite(sum(values))
    except (OverflowError, ValueError):
        return False


_NAMES_OK: set[tuple[str, ...]] = set()  # name tuples that passed (bounded; cleared when full)
_NAMES_OK_MAX = 20_000
_NUM_TYPES = {float, int}


def _metrics_reason(metrics: dict[Any, Any]) -> str | None:
    for name, value in metrics.items():
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_LEN:
            return f"metric name {name!r} must be a non-empty string of at most {MAX_NAME_LEN}"
        if not name.isprintable():
            return f"metric name {name!r} has control characters"
        if not _is_num(value):
            return f"metric '{name}' must be a number, got {type(value).__name__}"
        if not math.isfinite(value):
            return f"metric '{name}' is {value} (NaN and infinity are rejected)"
    return None


def _plain(value: Any, where: str, depth: int = 0) -> str | None:
    """Why ``value`` is not JSON-shaped (string keys; strings, numbers, booleans, nil, lists
    and maps of them), or None. A binary key would break every JSON client of the broker."""
    if isinstance(value, dict):
        if depth >= 4:
            return f"field '{where}' is nested too deeply"
        for k, v in value.items():
            if not isinstance(k, str):
                return f"field '{where}' has a {type(k).__name__} key {k!r} (keys are strings)"
            if err := _plain(v, f"{where}.{k}", depth + 1):
                return err
    elif isinstance(value, list):
        if depth >= 4:
            return f"field '{where}' is nested too deeply"
        for v in value:
            if err := _plain(v, where, depth + 1):
                return err
    elif isinstance(value, float) and not math.isfinite(value):
        return f"field '{where}' is {value} (NaN and infinity are rejected)"
    elif not isinstance(value, str | int | float | bool) and value is not None:
        return f"field '{where}' holds {type(value).__name__}, not a string, number or bool"
    return None


def _validate_labels(obj: Mapping[str, Any]) -> str | None:
    labels = obj.get("labels")
    if labels is not None:
        if not isinstance(labels, dict):
            return "field 'labels' must be a map of string to string"
        for k, v in labels.items():
            if not isinstance(k, str) or not isinstance(v, str):
                return f"label {k!r}={v!r} must map a string to a string"
            if not k or not (k + v).isprintable():
                return f"label {k!r}={v!r} must be a non-empty name without control characters"
    return None


# ---------------------------------------------------------------- control


def request(req_id: str, op: str, **args: Any) -> bytes:
    return pack({"id": req_id, "op": op, "args": args})


def parse_request(data: bytes) -> tuple[str, str, dict[str, Any]]:
    """(id, op, args) from a control request; raises ProtocolError naming the problem."""
    obj = unpack(data)
    if not isinstance(obj, dict):
        raise ProtocolError(f"request must be a map, got {type(obj).__name__}")
    req_id = obj.get("id", "")
    if not isinstance(req_id, str):
        raise ProtocolError("request field 'id' must be a string")
    op = obj.get("op")
    if not isinstance(op, str) or not op:
        raise ProtocolError("request field 'op' must be a non-empty string")
    args = obj.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError("request field 'args' must be a map")
    return req_id, op, args


def unpack_reply(data: bytes) -> Any:
    """A control reply: the same codec with the larger cap a whole fleet's snapshot needs."""
    return unpack(data, MAX_REPLY_BYTES)


def reply_ok(req_id: str, result: Any) -> bytes:
    return pack({"id": req_id, "ok": True, "result": result})


def reply_error(req_id: str, error: str) -> bytes:
    return pack({"id": req_id, "ok": False, "error": error})
