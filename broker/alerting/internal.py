"""The broker's own alerts: faults of the broker itself that must page like any other.

``store_failing`` fires when the event store cannot write (disk full, I/O error, read-only
data dir) and resolves when writes resume. These alerts have no rule in the rules file and
no series: the broker raises and clears them (``AlertEngine.broker_alert``). They route,
group, silence and acknowledge like every other alert (``alertname="store_failing"``), keep
across a rules reload, and are saved and restored with the rest of the engine state.
"""

from __future__ import annotations

import dataclasses

from broker.alerting.rules import Rule

KIND = "broker"
RULES: dict[str, Rule] = {
    "store_failing": Rule(name="store_failing", kind=KIND, severity="critical",
                          summary="event store on {host} cannot write; paging continues "
                                  "without the event log"),
}


def rule(name: str, detail: str = "") -> Rule:
    """The rule behind broker alert ``name``, with ``detail`` (the reason) as description."""
    try:
        base = RULES[name]
    except KeyError:
        raise ValueError(f"unknown broker alert {name!r}; known: {', '.join(RULES)}") from None
    return dataclasses.replace(base, description=detail[:500]) if detail else base
