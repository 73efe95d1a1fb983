"""The search language a person types, compiled to parameterised SQL over the event store.

    disk full host:web-* severity:>=warning -debug "connection refused" since:1h

Free words and quoted phrases are full text (all must match), ``-word`` excludes,
``field:value`` filters (``-field:value`` negates; ``a,b`` means either). User text only
ever reaches SQLite as a bound parameter; full-text terms are always emitted as quoted
FTS5 strings, so no input can produce an FTS5 syntax error. See docs/events.md.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SEVERITIES = ("info", "warning", "critical")
FIELDS = ("host", "severity", "kind", "rule", "alert", "since", "until")
COLUMNS = "e.seq, e.id, e.ts, e.kind, e.host, e.severity, e.rule, e.alert_id, e.message, e.data"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TOKEN = re.compile(r'''(?P<neg>-(?=\S))?(?:
      (?P<field>[A-Za-z_]+):(?:"(?P<fq>[^"]*)"|(?P<fv>[^\s"]*))
    | "(?P<phrase>[^"]*)"(?P<pstar>\*)?
    | (?P<word>[^\s"]+))''', re.X)
_SEV_OP = re.compile(r"(>=|<=|>|<|=)?(.*)")


class QueryError(ValueError):
    """A query that cannot be run; the message names the offending token."""


@dataclass
class Compiled:
    """``FROM ... WHERE ...`` with its parameters; ``order`` is the column to sort on."""

    sql: str
    params: list[Any]
    order: str
    fts: bool = False


@dataclass
class _Parts:
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


def compile_query(text: str, now: float) -> Compiled:
    parts = _Parts()
    text = text.replace("\x00", " ")  # FTS5 reads a NUL as the end of its query string
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"unterminated quote at position {pos + 1} in "
                             f"{text[pos:pos + 30]!r}")
        token = m.group(0)
        pos = m.end()
        neg = bool(m.group("neg"))
        if m.group("field") is not None:
            value = m.group("fq") if m.group("fq") is not None else m.group("fv")
            _filter(parts, m.group("field").lower(), value, neg, token, now)
        elif m.group("phrase") is not None:
            _term(parts, m.group("phrase"), bool(m.group("pstar")), neg, token)
        else:
            word = m.group("word")
            star = word.endswith("*")
            _term(parts, word.rstrip("*") if star else word, star, neg, token)
    return _assemble(parts)


def _term(parts: _Parts, text: str, prefix: bool, neg: bool, token: str) -> None:
    if not re.search(r"[^\W_]", text):
        raise QueryError(f"nothing to search for in {token!r} (words need a letter or digit)")
    fts = '"' + text.replace('"', '""') + '"' + (" *" if prefix else "")
    (parts.exclude if neg else parts.include).append(fts)


def _glob_escape(value: str) -> str:
    return value.replace("[", "[[]")


def _match(column: str, values: list[str], neg: bool, prefix_dotted: bool = False) -> tuple[
        str, list[str]]:
    clauses, params = [], []
    for v in values:
        if "*" in v or "?" in v:
            clauses.append(f"{column} GLOB ?")
            params.append(_glob_escape(v))
        elif prefix_dotted:
            clauses.append(f"({column} = ? OR {column} GLOB ?)")
            params += [v, _glob_escape(v) + ".*"]
        else:
            clauses.append(f"{column} = ?")
            params.append(v)
    sql = " OR ".join(clauses)
    return (f"NOT ({sql})" if neg else f"({sql})"), params


def _filter(parts: _Parts, name: str, value: str, neg: bool, token: str, now: float) -> None:
    if name not in FIELDS:
        raise QueryError(f"unknown field {name!r} in {token!r} (fields: {', '.join(FIELDS)}; "
                         'quote text to search for a colon, e.g. "a:b")')
    if value == "":
        raise QueryError(f"empty value in {token!r} (e.g. {name}:{_EXAMPLES[name]})")
    if name in ("since", "until"):
        if neg:
            raise QueryError(f"{token!r}: {name} cannot be negated; use "
                             f"{'until' if name == 'since' else 'since'}: instead")
        ts = parse_time(value, now, token)
        parts.where.append("e.ts >= ?" if name == "since" else "e.ts < ?")
        parts.params.append(ts)
        return
    if name == "severity":
        op, sev = _SEV_OP.fullmatch(value).groups()  # type: ignore[union-attr]
        names = sev.split(",") if not op else [sev]
        for s in names:
            if s not in SEVERITIES:
                raise QueryError(f"unknown severity {s!r} in {token!r} "
                                 f"(severities: {', '.join(SEVERITIES)})")
        if op:
            rank = SEVERITIES.index(sev)
            keep = {">=": rank.__le__, ">": rank.__lt__, "<=": rank.__ge__,
                    "<": rank.__gt__, "=": rank.__eq__}[op]
            names = [s for i, s in enumerate(SEVERITIES) if keep(i)]
        allowed = [s for s in SEVERITIES if (s in names) != neg]
        if not allowed:
            parts.where.append("0")
            return
        if "info" not in allowed:  # lets the planner use the partial index
            parts.where.append("e.severity != 'info'")
        parts.where.append(f"e.severity IN ({','.join('?' * len(allowed))})")
        parts.params += allowed
        return
    column = {"host": "e.host", "kind": "e.kind", "rule": "e.rule", "alert": "e.alert_id"}[name]
    values = value.split(",")
    if any(v == "" for v in values):
        raise QueryError(f"empty alternative in {token!r} (write {name}:a,b)")
    sql, params = _match(column, values, neg, prefix_dotted=(name == "kind"))
    if name in ("rule", "alert") and not neg:  # partial indexes: rows with a rule/alert
        parts.where.append(f"{column} != ''")
    parts.where.append(sql)
    parts.params += params


_EXAMPLES = {"host": "web-1", "severity": ">=warning", "kind": "alert",
             "rule": "high_cpu_usage", "alert": "ab12cd34", "since": "1h", "until": "30m"}


def parse_time(value: str, now: float, token: str = "") -> float:
    """``90s``, ``15m``, ``1h``, ``2d``, ``1w`` ago; ISO 8601 (naive = local time); epoch."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", value)
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2)]
    if re.fullmatch(r"\d{9,}(?:\.\d+)?", value):
        return float(value)
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        pass
    raise QueryError(f"bad time {value!r} in {token or value!r} (use 15m, 1h, 2d, 1w, "
                     "2026-11-26T10:00, 2026-11-26T10:00Z or unix seconds)")


def _assemble(parts: _Parts) -> Compiled:
    where, params = list(parts.where), list(parts.params)
    if parts.include:
        match = " AND ".join(parts.include)
        if parts.exclude:
            match = f"({match}) NOT ({' OR '.join(parts.exclude)})"
        sql = ("FROM events_fts JOIN events e ON e.seq = events_fts.rowid "
               "WHERE events_fts MATCH ?")
        params.insert(0, match)
        if where:
            sql += " AND " + " AND ".join(where)
        return Compiled(sql, params, "events_fts.rowid", fts=True)
    if parts.exclude:
        where.append("e.seq NOT IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
        params.append(" OR ".join(parts.exclude))
    sql = "FROM events e" + (" WHERE " + " AND ".join(where) if where else "")
    return Compiled(sql, params, "e.seq")


def row_to_event(row: tuple[Any, ...], loads: Any) -> dict[str, Any]:
    seq, eid, ts, kind, host, sev, rule, alert_id, message, data = row
    return {"id": eid, "ts": ts, "kind": kind, "host": host, "severity": sev, "rule": rule,
            "alert_id": alert_id, "message": message, "data": loads(data), "seq": seq}


def search(conn: sqlite3.Connection, text: str, *, now: float, limit: int = 50,
           before_ts: float | None = None, before_seq: int | None = None,
           loads: Any = None) -> list[dict[str, Any]]:
    """Newest first (by ``seq``, the order events were recorded); page with ``before_seq``."""
    if not isinstance(limit, int) or limit < 1:
        raise QueryError(f"limit must be a positive integer, not {limit!r}")
    c = compile_query(text, now)
    sql, params = c.sql, list(c.params)
    extra = []
    if before_seq is not None:
        extra.append(f"{c.order} < ?")
        params.append(int(before_seq))
    if before_ts is not None:
        extra.append("e.ts < ?")
        params.append(float(before_ts))
    if extra:
        sql += (" AND " if " WHERE " in sql else " WHERE ") + " AND ".join(extra)
    sql = f"SELECT {COLUMNS} {sql} ORDER BY {c.order} DESC LIMIT ?"
    params.append(limit)
    try:
        rows = conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as e:  # should not happen; never leak it as a crash
        raise QueryError(f"query {text!r} could not run: {e}") from e
    return [row_to_event(r, loads) for r in rows]
