"""The tokens of the search language, one tokenizer for every place a person types a query.

    disk full host:web-* -debug "connection refused" label:team=db cpu>80

A token is ``field:value`` (``field:"quoted value"``), a ``"quoted phrase"`` (``"pre"*``
for a prefix) or a bare word; a leading ``-`` negates any of them. The event store compiles
tokens to SQL (broker/store/search.py); the console's host filter to a predicate
(core/hostquery.py). Errors are ``QueryError`` (a ``ValueError``) naming the bad part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_TOKEN = re.compile(r'''(?P<neg>-(?=\S))?(?:
      (?P<field>[A-Za-z_]+):(?:"(?P<fq>[^"]*)"|(?P<fv>[^\s"]*))
    | "(?P<phrase>[^"]*)"(?P<pstar>\*)?
    | (?P<word>[^\s"]+))''', re.X)


class QueryError(ValueError):
    """A query that cannot be run; the message names the offending token."""


@dataclass(frozen=True, slots=True)
class Token:
    text: str                 # as typed, for error messages
    neg: bool
    field: str | None = None  # lower case; ``value`` is its value (quotes removed)
    value: str = ""
    phrase: str | None = None  # a quoted phrase; ``star``: followed by ``*``
    word: str | None = None   # a bare word, as typed (``*`` kept)
    star: bool = False


def tokens(text: str) -> Iterator[Token]:
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"unterminated quote at position {pos + 1} in "
                             f"{text[pos:pos + 30]!r}")
        pos = m.end()
        neg = bool(m.group("neg"))
        if m.group("field") is not None:
            value = m.group("fq") if m.group("fq") is not None else m.group("fv")
            yield Token(m.group(0), neg, field=m.group("field").lower(), value=value)
        elif m.group("phrase") is not None:
            yield Token(m.group(0), neg, phrase=m.group("phrase"), star=bool(m.group("pstar")))
        else:
            yield Token(m.group(0), neg, word=m.group("word"))
