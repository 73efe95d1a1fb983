"""The console's host filter: the search language (core/query_tokens.py) over hosts.

    web               hosts whose name contains "web" (-web: does not)
    host:web-*        name globs, a,b either (-host:... negates)
    label:team=db     a host label, as silences match them (core/matchers.py): =, !=, =~, !~;
                      label:team alone: the host has that label
    status:down       up, down or stopped (a,b either)
    cpu>80 mem>=90    a figure compared with a number: cpu, mem, disk (percent), load,
                      rx, tx (bytes/s; 10k, 2.5M, 1G), alerts (firing), age (seconds; 5m, 2h)

Everything combines with AND. The figures are the fleet digest's columns (core/digest.py),
so a console filters 10,000 hosts without their metrics streams. ``parse`` raises
``QueryError`` naming the wrong part; ``HostQuery.matches`` takes a host's name, status,
labels and a function from a figure's name to its value (None: unknown, never matches).
"""

from __future__ import annotations

import fnmatch
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core.matchers import Matcher
from core.query_tokens import QueryError, tokens

__all__ = ["FIGURES", "FIELDS", "HostQuery", "QueryError", "parse"]

FIGURES = ("cpu", "mem", "disk", "load", "rx", "tx", "alerts", "age")
FIELDS = ("host", "label", "status")
STATUSES = ("up", "down", "stopped")
MAX_LEN = 1024
_CMP = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)(>=|<=|!=|==|=|>|<)(.*)")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "=": operator.eq, "==": operator.eq, "!=": operator.ne}
_SUFFIX: dict[str, dict[str, float]] = {"rx": {"k": 1e3, "m": 1e6, "g": 1e9}, "tx": {"k": 1e3, "m": 1e6, "g": 1e9},
           "age": {"s": 1, "m": 60, "h": 3600, "d": 86400}}
Test = Callable[[str, str, Mapping[str, str], Callable[[str], float | None]], bool]


@dataclass
class HostQuery:
    text: str
    tests: list[Test] = field(default_factory=list)
    figures: set[str] = field(default_factory=set)  # the figures it compares

    def matches(self, name: str, status: str, labels: Mapping[str, str],
                figure: Callable[[str], float | None]) -> bool:
        for test in self.tests:  # a loop, not all(generator): 10,000 hosts a keystroke
            if not test(name, status, labels, figure):
                return False
        return True

    def __bool__(self) -> bool:
        return bool(self.tests)


def parse(text: str) -> HostQuery:
    if len(text) > MAX_LEN:
        raise QueryError(f"filter is {len(text)} characters long, the limit is {MAX_LEN}")
    q = HostQuery(text.strip())
    for tok in tokens(text):
        if tok.field is not None:
            test = _field(tok.field, tok.value, tok.text)
        elif tok.phrase is not None:
            test = _contains(tok.phrase.lower())
        else:
            word = tok.word or ""
            m = _CMP.fullmatch(word)
            if m:
                figure, op, number = m.groups()
                test = _compare(figure, op, number, tok.text)
                q.figures.add(m.group(1).lower())
            elif any(c in word for c in "<>="):
                raise QueryError(f"bad comparison {tok.text!r} (write e.g. cpu>80, mem>=90)")
            else:
                test = _contains(word.lower())
        q.tests.append(_negate(test) if tok.neg else test)
    return q


def _negate(test: Test) -> Test:
    return lambda n, s, lb, f: not test(n, s, lb, f)


def _contains(text: str) -> Test:
    return lambda n, s, lb, f: text in n.lower()


def _field(name: str, value: str, token: str) -> Test:
    if name not in FIELDS:
        raise QueryError(f"unknown field {name!r} in {token!r} (fields: {', '.join(FIELDS)}; "
                         f"figures compare: {', '.join(FIGURES)}, e.g. cpu>80)")
    if value == "":
        example = {"host": "web-*", "label": "team=db", "status": "down"}[name]
        raise QueryError(f"empty value in {token!r} (e.g. {name}:{example})")
    if name == "host":
        globs = value.split(",")
        if any(g == "" for g in globs):
            raise QueryError(f"empty alternative in {token!r} (write host:a,b)")
        if not any(c in value for c in "*?["):
            exact = set(globs)
            return lambda n, s, lb, f: n in exact
        rx = [re.compile(fnmatch.translate(g)) for g in globs]
        return lambda n, s, lb, f: any(r.match(n) for r in rx)
    if name == "status":
        wanted = set(value.split(","))
        bad = wanted - set(STATUSES)
        if bad:
            raise QueryError(f"unknown status {sorted(bad)[0]!r} in {token!r} "
                             f"(statuses: {', '.join(STATUSES)})")
        return lambda n, s, lb, f: s in wanted
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", value):  # label:team: has the label
        return lambda n, s, lb, f: bool(lb.get(value))
    try:
        matcher = Matcher.parse(value)
    except ValueError as exc:
        raise QueryError(f"bad label matcher in {token!r}: {exc}") from None
    return lambda n, s, lb, f: matcher.matches(lb if isinstance(lb, dict) else dict(lb))


def _compare(figure: str, op: str, number: str, token: str) -> Test:
    key = figure.lower()
    if key not in FIGURES:
        raise QueryError(f"unknown figure {figure!r} in {token!r} (figures: {', '.join(FIGURES)})")
    if number == "":
        raise QueryError(f"missing number in {token!r} (e.g. {key}{op}80)")
    limit = _number(key, number, token)
    cmp = _OPS[op]

    def test(n: str, s: str, lb: Mapping[str, str], f: Callable[[str], float | None]) -> bool:
        v = f(key)
        return v is not None and v == v and cmp(v, limit)
    return test


def _number(key: str, text: str, token: str) -> float:
    scale = 1.0
    units: dict[str, float] = _SUFFIX.get(key, {})
    if text[-1:].lower() in units:
        scale, text = units[text[-1].lower()], text[:-1]
    try:
        value = float(text.rstrip("%") if key in ("cpu", "mem", "disk") else text)
    except ValueError:
        hint = f" (units: {', '.join(units)})" if units else ""
        raise QueryError(f"bad number {text!r} in {token!r}{hint}") from None
    if not math.isfinite(value):
        raise QueryError(f"bad number {text!r} in {token!r}")
    return value * scale
