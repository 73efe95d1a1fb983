"""Config helpers shared by every process: durations, endpoints, TOML files, data dirs."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

DEFAULT_BASE_PORT = 5555
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(ValueError):
    """Bad configuration; the message names the file, section and key."""


def parse_duration(text: str | int | float, what: str = "duration") -> float:
    """'90s', '5m', '1h30m', '250ms', or a bare number of seconds -> seconds."""
    if isinstance(text, bool):
        raise ConfigError(f"{what}: expected a duration like '30s', got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ConfigError(f"{what}: a duration cannot be negative ({text})")
        return float(text)
    if not isinstance(text, str):
        raise ConfigError(f"{what}: expected a duration like '30s', got {text!r}")
    s = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ConfigError(f"{what}: bad duration {text!r} (use e.g. 250ms, 30s, 5m, 2h, 1d)")
    return total


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s" if seconds % 60 else f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600:02d}h"


def broker_endpoints(spec: str, bind: bool = False) -> dict[str, str]:
    """'HOST[:BASE]' -> {'ingest','publish','control'} endpoints on BASE, BASE+1, BASE+2."""
    host, _, port = spec.rpartition(":") if ":" in spec and not spec.endswith("]") else (spec, "", "")
    if not host:
        host, port = spec, ""
    if port:
        try:
            base = int(port)
        except ValueError:
            raise ConfigError(f"--broker {spec!r}: port {port!r} is not a number") from None
        if not 1 <= base <= 65533:
            raise ConfigError(f"--broker {spec!r}: port {base} out of range 1-65533")
    else:
        base = DEFAULT_BASE_PORT
    if not host or any(c in host for c in " /"):
        raise ConfigError(f"--broker {spec!r}: expected HOST or HOST:PORT")
    return endpoints_on(host, base)


def endpoints_on(host: str, base: int = DEFAULT_BASE_PORT) -> dict[str, str]:
    """The broker's three endpoints on ``host``: ingest BASE, publish BASE+1, control BASE+2."""
    return {"ingest": f"tcp://{host}:{base}", "publish": f"tcp://{host}:{base + 1}",
            "control": f"tcp://{host}:{base + 2}"}


def check_endpoint(ep: str, flag: str) -> str:
    """Reject an endpoint zmq would choke on with a message naming the flag."""
    if not re.fullmatch(r"(tcp://[^\s:]+:(\*|\d{1,5})|ipc://\S+|inproc://\S+)", ep):
        raise ConfigError(f"{flag} {ep!r}: expected tcp://HOST:PORT, tcp://HOST:* or ipc://PATH")
    return ep


def check_resolves(ep: str, flag: str) -> str:
    """A tcp endpoint whose host name does not resolve fails now, in one line, rather than
    leaving ZeroMQ to retry it silently forever."""
    import socket

    m = re.fullmatch(r"tcp://\[?([^\]]+?)\]?:(\*|\d+)", ep)
    if m and m.group(1) not in ("*", "0.0.0.0", "::"):
        try:
            socket.getaddrinfo(m.group(1), None)
        except (socket.gaierror, UnicodeError):
            raise ConfigError(f"{flag} {ep!r}: cannot resolve host {m.group(1)!r}") from None
    return ep


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None


def check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    """Raise naming the first unknown key: typos must not be silently ignored."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")


def user_data_dir() -> Path:
    from platformdirs import user_data_dir as _udd

    return Path(os.environ.get("MONITOR_DATA_DIR") or _udd("monitor", appauthor=False))
