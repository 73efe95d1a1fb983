"""Label matchers, Alertmanager-style: ``NAME OP VALUE`` with OP one of =, !=, =~, !~.

One implementation for silences (the alert engine) and routes (the notifier). Regexes are
anchored: they must match the whole label value, and run on RE2 (``core/regex.py``) so a
matcher never backtracks. A label an alert lacks has the value "".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.regex import MAX_PATTERN_LEN, Pattern, compile_user

_MATCHER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*(.*?)\s*")
OPS = ("=", "!=", "=~", "!~")
MAX_SPEC_LEN = MAX_PATTERN_LEN + 256  # a matcher is a name, an operator and a value


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: str
    value: str
    rx: Pattern | None = field(default=None, compare=False, repr=False)

    @classmethod
    def make(cls, name: str, op: str, value: str) -> Matcher:
        if op not in OPS:
            raise ValueError(f"unknown operator {op!r} (use =, !=, =~, !~)")
        if len(value) > MAX_PATTERN_LEN:
            raise ValueError(f"matcher value for '{name}' is {len(value)} characters long, "
                             f"the limit is {MAX_PATTERN_LEN}")
        rx = None
        if op in ("=~", "!~"):
            rx = compile_user(value, f"in matcher '{name}{op}{value[:40]}'")
        return cls(name, op, value, rx)

    @classmethod
    def parse(cls, spec: Any) -> Matcher:
        """From ``'host=web-1'``, ``'rule=~"disk_.*"'`` (quotes optional) or
        ``{'name', 'op', 'value'}``."""
        if isinstance(spec, dict):
            try:
                return cls.make(str(spec["name"]), str(spec["op"]), str(spec["value"]))
            except KeyError as exc:
                raise ValueError(f"matcher {spec!r} lacks {exc.args[0]!r}") from None
        if not isinstance(spec, str):
            raise ValueError(f"matcher {spec!r} must be a string like 'host=web-1'")
        if len(spec) > MAX_SPEC_LEN:
            raise ValueError(f"matcher {spec[:40]!r}... is {len(spec)} characters long, "
                             f"the limit is {MAX_SPEC_LEN}")
        m = _MATCHER.fullmatch(spec)
        if not m:
            raise ValueError(f"bad matcher {spec!r}: expected NAME=VALUE, NAME!=VALUE, "
                             "NAME=~REGEX or NAME!~REGEX")
        name, op, value = m.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        return cls.make(name, op, value)

    def matches(self, labels: dict[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = self.rx is not None and self.rx.fullmatch(v) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"
