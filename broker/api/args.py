"""Reading a control request's arguments: one clear error naming what is wrong."""

from __future__ import annotations

from typing import Any


class RequestError(ValueError):
    """A request the broker understood but cannot carry out; the message says why."""


def claimed(args: dict[str, Any]) -> str:
    """Who a keyless client says it is (only ever shown as ``local:<name>``)."""
    val = args.get("author", "")
    return val if isinstance(val, str) else ""


def req_str(args: dict[str, Any], key: str) -> str:
    val = args.get(key)
    if not isinstance(val, str) or not val:
        raise RequestError(f"missing or empty '{key}'")
    return val


def opt_str(args: dict[str, Any], key: str) -> str:
    val = args.get(key, "")
    if val is None:
        return ""
    if not isinstance(val, str):
        raise RequestError(f"'{key}' must be a string")
    return val


def int_arg(args: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    val = args.get(key, default)
    if not isinstance(val, int) or isinstance(val, bool) or not lo <= val <= hi:
        raise RequestError(f"'{key}' must be an integer from {lo} to {hi}")
    return val
