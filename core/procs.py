"""The ``procs`` field of a metrics frame: an agent's top processes, in a compact form.

Part of the wire contract (``core.protocol`` re-exports it and validates frames with it):
rows of ``PROCESS_FIELDS``, at most twice ``MAX_PROC_TOP`` (top-N by CPU and by memory).
"""

from __future__ import annotations

import math
from typing import Any

from core.hostnames import MAX_NAME_LEN

MAX_PROC_TOP = 50  # top-N per list (CPU, memory): a frame carries at most twice this
MAX_PROC_CMD = 200
# Optional ``procs`` of a metrics frame: rows in this column order (protocol v1, additive:
# a broker that does not know the field ignores it).
PROCESS_FIELDS = ("pid", "name", "user", "cmd", "cpu_percent", "rss", "threads")


def process_dicts(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Validated ``procs`` rows as maps keyed by ``PROCESS_FIELDS``."""
    return [dict(zip(PROCESS_FIELDS, row, strict=True)) for row in rows]


_PROC_TYPES: tuple[Any, ...] = (int, str, str, str, (int, float), int, int)
_PROC_LIMITS = (0, MAX_NAME_LEN, 64, MAX_PROC_CMD + 1, 0, 0, 0)


def validate_procs(rows: Any) -> str | None:
    if not isinstance(rows, list) or len(rows) > 2 * MAX_PROC_TOP:
        return f"field 'procs' must be a list of at most {2 * MAX_PROC_TOP} rows"
    for row in rows:
        if not isinstance(row, list) or len(row) != len(PROCESS_FIELDS):
            return f"field 'procs': each row must be a list of {len(PROCESS_FIELDS)} values"
        for name, val, typ, limit in zip(PROCESS_FIELDS, row, _PROC_TYPES, _PROC_LIMITS,
                                         strict=True):
            if isinstance(val, bool) or not isinstance(val, typ):
                return f"field 'procs': {name} {val!r} has the wrong type"
            if isinstance(val, str):
                if len(val) > limit or not val.isprintable():
                    return f"field 'procs': {name} {val[:40]!r} is too long or unprintable"
            elif not math.isfinite(val) or val < 0:
                return f"field 'procs': {name} {val!r} must be a finite number >= 0"
    return None
