"""Log-level matching for ``log`` rules: ``level = "error"``, ``["error", "critical"]`` or
``"warning+"`` (that level or worse).

Agents send the five levels of agents/loglevel.py; other senders' spellings (``warn``,
``err``, ``fatal``, ``emerg``...) are ranked with their nearest of the five.
"""

from __future__ import annotations

from collections.abc import Callable

RANK = {"debug": 10, "trace": 10, "info": 20, "notice": 20, "warning": 30, "warn": 30,
        "error": 40, "err": 40, "critical": 50, "crit": 50, "fatal": 50, "alert": 50,
        "emerg": 50, "panic": 50}
NAMES = ("debug", "info", "warning", "error", "critical")


def check_level(spec: str) -> str | None:
    """Why ``spec`` is not a level spec, or None when it is one."""
    name = spec[:-1] if spec.endswith("+") else spec
    if name.lower() not in RANK:
        return f"unknown level {spec!r} (one of {', '.join(NAMES)}, optionally with '+' " \
               "for that level or worse)"
    return None


def level_matcher(specs: tuple[str, ...]) -> Callable[[str], bool] | None:
    """A predicate on a line's level, or None when the rule takes every level."""
    if not specs:
        return None
    exact: set[int] = set()
    floor = 1000
    for spec in specs:
        if spec.endswith("+"):
            floor = min(floor, RANK[spec[:-1].lower()])
        else:
            exact.add(RANK[spec.lower()])

    def match(level: str) -> bool:
        r = RANK.get(level.lower(), 20)
        return r >= floor or r in exact
    return match
