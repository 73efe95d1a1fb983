"""The audit trail: one ``audit`` event per state-changing control request.

Who (the key's name, or ``local:<user>`` without keys), with which role, what (the op and
its arguments), from which address, and whether it was let through. Searchable in the event
log with ``kind:audit``; refusals are warnings, so ``kind:audit severity:warning`` lists
every attempt a key was not allowed to make.
"""

from __future__ import annotations

from typing import Any

from broker.events import Event, make_event
from core.keydir import Identity


def audit_event(who: Identity, author: str, address: str, op: str, args: dict[str, Any],
                error: str, now: float) -> Event:
    shown = {k: v for k, v in args.items() if k != "author"}
    brief = " ".join(f"{k}={v}" for k, v in shown.items() if v not in ("", None))[:200]
    outcome = "refused" if error.startswith("refused:") else "failed" if error else "ok"
    message = f"{author} ({who.role}) {op} {brief}".rstrip() + f": {outcome}"
    return make_event(
        "audit", message, ts=now, severity="warning" if outcome == "refused" else "info",
        alert_id=str(args.get("alert_id") or "")[:64],
        data={"who": author, "role": who.role, "op": op, "from": address,
              "args": {k: str(v)[:200] for k, v in shown.items()},
              "ok": not error, "error": error})
