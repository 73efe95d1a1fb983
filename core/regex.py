"""User-supplied regular expressions, compiled with RE2 so matching is linear in the input.

Python's ``re`` backtracks: ``(a+)+$`` against 26 characters takes seconds, doubling per
character, and a silence or rule holding it would freeze the broker's core loop. Every
regex a person or a config file supplies (silence and route matchers, log rules) goes
through ``compile_user`` instead. RE2 refuses what it cannot run in linear time
(back-references, look-around, atomic groups, possessive repeats); the error names the
construct. Patterns are capped at ``MAX_PATTERN_LEN`` characters and RE2's memory at
``MAX_MEM`` bytes per pattern; subjects longer than ``MAX_SUBJECT_LEN`` are matched on
their first ``MAX_SUBJECT_LEN`` characters (``search``) or never match (``fullmatch``).
"""

from __future__ import annotations

from typing import Any, Protocol

import re2

MAX_PATTERN_LEN = 1024
MAX_SUBJECT_LEN = 64 * 1024
MAX_MEM = 8 << 20

# RE2's own messages for what it will not run, with the construct's usual name.
_CONSTRUCTS = (
    ("(?<=", "look-behind (?<=...)"), ("(?<!", "negative look-behind (?<!...)"),
    ("(?=", "look-ahead (?=...)"), ("(?!", "negative look-ahead (?!...)"),
    ("(?>", "atomic group (?>...)"), ("(?P=", "named back-reference (?P=name)"),
    ("(?(", "conditional group (?(...)...)"), ("\\1", "back-reference \\1"),
)


class Pattern(Protocol):
    pattern: str

    def search(self, s: str) -> Any: ...

    def fullmatch(self, s: str) -> Any: ...


class _Linear:
    """An RE2 regex with the subject length cap applied."""

    __slots__ = ("pattern", "_rx")

    def __init__(self, pattern: str, rx: Any) -> None:
        self.pattern = pattern
        self._rx = rx

    def search(self, s: str) -> Any:
        return self._rx.search(s[:MAX_SUBJECT_LEN])

    def fullmatch(self, s: str) -> Any:
        if len(s) > MAX_SUBJECT_LEN:
            return None
        return self._rx.fullmatch(s)


def _options() -> Any:
    o = re2.Options()
    o.log_errors = False  # the error goes to the person who wrote it, not to stderr
    o.max_mem = MAX_MEM
    return o


def _name(pattern: str, message: str) -> str:
    if "invalid escape sequence: \\" in message and message[-1:].isdigit():
        return f"back-reference {message.rsplit(' ', 1)[-1]} (RE2 has no back-references)"
    if "invalid perl operator" in message or "invalid named capture" in message:
        for token, name in _CONSTRUCTS:
            if token in pattern:
                return f"{name} (RE2 cannot run it in linear time)"
    if "possessive" in message or "bad repetition operator: *+" in message \
            or "bad repetition operator: ++" in message:
        return f"possessive repeat ({message})"
    return message


def compile_user(pattern: str, where: str = "") -> Pattern:
    """Compile ``pattern`` with RE2, or raise ValueError naming what is wrong; ``where``
    says where the regex came from (``in matcher 'host=~x'``)."""
    at = f" {where}" if where else ""
    if not isinstance(pattern, str):
        raise ValueError(f"regex{at} must be a string, got {pattern!r}")
    if len(pattern) > MAX_PATTERN_LEN:
        raise ValueError(f"regex{at} is {len(pattern)} characters long, the limit is "
                         f"{MAX_PATTERN_LEN}")
    try:
        rx = re2.compile(pattern, _options())
    except re2.error as exc:
        raw = exc.args[0] if exc.args else str(exc)
        msg = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
        raise ValueError(f"bad regex {shown!r}{at}: {_name(pattern, msg)}") from None
    return _Linear(pattern, rx)
