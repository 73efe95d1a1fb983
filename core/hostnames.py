"""The one host-name rule, for the agent (``--host``) and the broker (every frame).

Re-exported by ``core.protocol`` (the wire contract): ``protocol.host_name_error(name)``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

MAX_NAME_LEN = 200  # core.protocol.MAX_NAME_LEN is this one (names on the wire)
HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")


def host_name_error(name: Any) -> str | None:
    """The one host-name rule, for the agent (``--host``) and the broker (every frame).

    A host name is 1 to MAX_NAME_LEN characters of ASCII letters, digits, ``-``, ``.`` and
    ``_``, starting with a letter or digit. No spaces, no control characters, nothing outside
    ASCII: ``wеb-01`` with a Cyrillic ``е`` looks like ``web-01`` and would be a second host
    (an internationalised name goes on the wire in its punycode form, ``xn--...``).
    """
    if not isinstance(name, str):
        return f"host name must be a string, got {type(name).__name__}"
    if not name:
        return "host name must not be empty"
    if len(name) > MAX_NAME_LEN:
        return f"host name is {len(name)} characters, over the {MAX_NAME_LEN} limit"
    for i, c in enumerate(name):
        if c in HOST_CHARS:
            continue
        if c.isspace():
            what = "a space" if c == " " else f"whitespace U+{ord(c):04X}"
        elif not c.isascii():
            what = f"the non-ASCII character {c!r} (U+{ord(c):04X}, {_uname(c)})"
        else:
            what = f"the character {c!r}"
        return (f"host name {name!r} has {what} at position {i + 1}: host names are ASCII "
                "letters, digits, '-', '.' and '_'")
    if not name[0].isalnum():
        return f"host name {name!r} must start with a letter or digit"
    return None


def _uname(c: str) -> str:
    return unicodedata.name(c, "unnamed")
