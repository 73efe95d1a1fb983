"""Shared helpers for the alert engine tests: build an engine from TOML text, read events."""

from __future__ import annotations

import tomllib
from typing import Any

from broker.alerting.engine import AlertEngine
from broker.alerting.rules import parse_rules

T0 = 1_700_000_000.0


def engine_from(text: str) -> AlertEngine:
    return AlertEngine(parse_rules(tomllib.loads(text)["rule"], "test.toml"))


def rule(name: str = "r", **keys: Any) -> str:
    """One ``[[rule]]`` table as TOML text from keyword arguments (``for_`` -> ``for``)."""
    lines = ["[[rule]]", f'name = "{name}"']
    for k, v in keys.items():
        k = "for" if k == "for_" else k
        if isinstance(v, bool):
            lines.append(f"{k} = {'true' if v else 'false'}")
        elif isinstance(v, str):
            lines.append(f"{k} = '{v}'")
        else:
            lines.append(f"{k} = {v!r}")
    return "\n".join(lines) + "\n"


def transitions(events: list[dict[str, Any]], change: str = "state") -> list[tuple[str, str]]:
    return [(e["data"]["from"], e["data"]["to"]) for e in events
            if e["kind"] == "alert" and e["data"]["change"] == change]


def only(engine: AlertEngine, **match: Any) -> dict[str, Any]:
    found = [a for a in engine.alerts() if all(a[k] == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]
