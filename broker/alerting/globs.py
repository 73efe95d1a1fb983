"""Metric and host name globs: compile once, and refuse a glob that can never match.

A glob uses ``*`` (any run of characters, dots included), ``?`` (one character) and
``[...]`` classes, as ``fnmatch`` does, matched case-sensitively against the whole name.

Metric names are what agents put on the wire (``core/protocol.py``): non-empty, at most
``MAX_NAME_LEN`` characters, dotted segments such as ``cpu.percent``, ``disk./var.percent``
or ``net.eth0.errin_ps``. So a metric glob can never match, and is refused, when it is
empty, holds whitespace or control characters, starts or ends with a dot, holds an empty
segment (``..``), needs more than ``MAX_NAME_LEN`` characters, or has an unclosed ``[``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from core.protocol import MAX_NAME_LEN

GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    return any(c in GLOB_CHARS for c in pattern)


def never_matches(pattern: str) -> str | None:
    """Why no metric name can match ``pattern``, or None when some name can."""
    if not pattern:
        return "it is empty"
    if any(c.isspace() or not c.isprintable() for c in pattern):
        return "metric names never contain whitespace or control characters"
    if pattern.startswith(".") or pattern.endswith("."):
        return "metric names never start or end with '.'"
    if ".." in pattern:
        return "metric names never have an empty segment ('..')"
    if _unclosed_bracket(pattern):
        return "it has an unclosed '['"
    literal = len(re.sub(r"\[[^\]]*\]", "?", pattern).replace("*", ""))
    if literal > MAX_NAME_LEN:
        return f"it needs {literal} characters, metric names have at most {MAX_NAME_LEN}"
    return None


def _unclosed_bracket(pattern: str) -> bool:
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            j = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "]") else i + 1)
            if pattern[i + 1:i + 2] == "!" and j != -1 and j == i + 2:
                j = pattern.find("]", j + 1)
            if j == -1:
                return True
            i = j
        i += 1
    return False


def compile_glob(pattern: str) -> Callable[[str], bool]:
    """A fast predicate for ``pattern``: plain string equality when it has no glob chars."""
    if not is_glob(pattern):
        return pattern.__eq__
    return re.compile(fnmatch.translate(pattern)).match  # type: ignore[return-value]


def compile_globs(patterns: tuple[str, ...]) -> Callable[[str], bool] | None:
    """One predicate matching any of ``patterns``; None for an empty tuple."""
    if not patterns:
        return None
    rx = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))
    return lambda name: rx.match(name) is not None
