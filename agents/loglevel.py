"""Log line parsing: level detection and multi-line event assembly (stack traces).

Levels are the five the rest of the system knows: ``debug``, ``info``, ``warning``,
``error``, ``critical``. ``detect_level`` looks, in order, for a syslog priority prefix
(``<3>``: severity = priority % 8), then for the earliest level word in the first 200
characters (``ERROR``, ``[warn]``, ``level=error``, ``"level":"debug"``...; case-insensitive),
then a bare ``Traceback`` or ``panic:`` start. Nothing found: ``info``.

``Assembler`` joins continuation lines (indented lines, ``Traceback``, ``Caused by:``,
``at ...``, Python's chained-exception banners, and the final ``SomeError: message`` line
of a Python traceback) to the event they continue; the event keeps its first line's level
(raised to ``error`` when a line that named no level turns out to start a traceback).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORDS = {
    "fatal": "critical", "critical": "critical", "crit": "critical", "emerg": "critical",
    "emergency": "critical", "panic": "critical",
    "error": "error", "err": "error", "severe": "error", "fail": "error",
    "exception": "error",
    "warning": "warning", "warn": "warning",
    "info": "info", "notice": "info", "information": "info",
    "debug": "debug", "trace": "debug", "dbug": "debug",
}
# "fail" and "alert" are too common in prose: only their upper-case forms count
_UPPER_ONLY = {"FAIL": "error", "ALERT": "critical"}
_WORD_RE = re.compile(
    r"\b(" + "|".join(sorted((w for w in _WORDS if w != "fail"), key=len, reverse=True))
    + r")\b", re.IGNORECASE)
_UPPER_RE = re.compile(r"\b(FAIL|ALERT)\b")
_SYSLOG_RE = re.compile(r"^\s*<(\d{1,3})>")
_SCAN_CHARS = 200

# syslog severities 0..7: emerg alert crit err warning notice info debug
SYSLOG_LEVELS = ("critical", "critical", "critical", "error", "warning", "info", "info", "debug")


def syslog_level(priority: int) -> str:
    """Level of a syslog/journald priority (the facility bits are ignored)."""
    return SYSLOG_LEVELS[int(priority) % 8]


def detect_level(line: str, default: str = "info") -> str:
    """The level a line announces, or ``default``."""
    m = _SYSLOG_RE.match(line)
    if m:
        return syslog_level(int(m.group(1)))
    head = line[:_SCAN_CHARS]
    best: tuple[int, str] | None = None
    m = _WORD_RE.search(head)
    if m:
        best = (m.start(), _WORDS[m.group(1).lower()])
    m = _UPPER_RE.search(head)
    if m and (best is None or m.start() < best[0]):
        best = (m.start(), _UPPER_ONLY[m.group(1)])
    if best:
        return best[1]
    stripped = head.lstrip()
    if stripped.startswith("Traceback"):
        return "error"
    if stripped.startswith("panic:"):
        return "critical"
    return default


_CONT_PREFIXES = ("Traceback", "Caused by:", "at ", "During handling of the above exception",
                  "The above exception was the direct cause", "... ", "Suppressed:")
_PY_EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning|Fault)"
                          r"\b(:.*)?$|^[A-Za-z_][\w.]*: ")


def is_continuation(line: str) -> bool:
    """A line that continues the previous event rather than starting a new one."""
    if not line:
        return False
    if line[0] in " \t":
        return line.strip() != ""
    return line.startswith(_CONT_PREFIXES)


@dataclass
class Event:
    level: str
    lines: list[str]
    ts: float
    chars: int = 0
    explicit: bool = True  # the first line named its level
    in_traceback: bool = False
    last_indented: bool = False
    held_blank: bool = False  # a blank line inside a traceback, kept if the trace goes on

    @property
    def message(self) -> str:
        return "\n".join(self.lines)


class Assembler:
    """Turns lines into events; one per source. Not thread-safe (one follower thread)."""

    def __init__(self, multiline: bool = True, max_lines: int = 500,
                 max_chars: int = 16 * 1024) -> None:
        self.multiline = multiline
        self.max_lines = max_lines
        self.max_chars = max_chars
        self._pending: Event | None = None
        self.last_ts = 0.0  # when the pending event last grew

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def feed(self, line: str, ts: float) -> list[Event]:
        """Add one line (without its newline); returns the events it completed."""
        done: list[Event] = []
        ev = self._pending
        if ev is not None and self.multiline:
            blank = not line.strip()
            if blank and ev.in_traceback and not ev.held_blank:
                # Python separates chained tracebacks with a blank line and a banner
                ev.held_blank = True
                return done
            if not blank and self._continues(ev, line):
                if ev.held_blank:
                    ev.held_blank = False
                    ev.lines.append("")
                    ev.chars += 1
                if len(ev.lines) < self.max_lines and ev.chars + len(line) < self.max_chars:
                    self._append(ev, line)
                    self.last_ts = ts
                    return done
                # over a cap: the event ends here, the rest starts a new one, same level
                done.append(ev)
                self._pending = self._start(line, ts, ev.level)
                return done
        if ev is not None:
            done.append(ev)
            self._pending = None
        if not line.strip():
            return done  # blank lines separate events and are not events themselves
        new = self._start(line, ts, None)
        if self.multiline:
            self._pending = new
            self.last_ts = ts
        else:
            done.append(new)
        return done

    def flush(self) -> Event | None:
        """The pending event, if any (idle timeout, rotation, shutdown)."""
        ev, self._pending = self._pending, None
        return ev

    # ------------------------------------------------------------------ helpers

    def _start(self, line: str, ts: float, level: str | None) -> Event:
        found = level or detect_level(line, default="")
        ev = Event(level=found or "info", lines=[], ts=ts, explicit=bool(found))
        self._append(ev, line)
        return ev

    @staticmethod
    def _append(ev: Event, line: str) -> None:
        stripped = line.lstrip()
        if stripped.startswith("Traceback"):
            ev.in_traceback = True
            if ev.lines and not ev.explicit:
                ev.level = "error"  # "something failed:" + traceback, no level word: error
        ev.last_indented = line[:1].isspace()
        ev.lines.append(line)
        ev.chars += len(line) + 1

    @staticmethod
    def _continues(ev: Event, line: str) -> bool:
        if is_continuation(line):
            return True
        # the last line of a Python traceback is not indented: "KeyError: 'sku'"
        return ev.in_traceback and ev.last_indented and bool(_PY_EXC_LINE.match(line))
