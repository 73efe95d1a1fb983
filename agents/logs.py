"""Log capture on the agent: follow files like ``tail -F`` and emit one call per event.

``LogFollower(patterns, emit)`` follows every file that matches ``patterns`` (paths or
globs, re-expanded on every ``poll()``):

* files that exist when the follower starts are read from their end (``from_start=True``
  reads them whole); files that appear later are read from their beginning;
* rotation by rename: when the path's inode changes, the old file is read to its end
  (including a last line with no newline), then the new file is followed from its start. A
  rotated file that a glob also matches (``app.log.1`` for ``app.log*``) is picked up
  where we had stopped reading it, not re-read;
* truncation (``copytruncate``): the size is below our position, so we read from 0;
* a file that vanishes is closed; if it comes back it is a new file;
* a partial line (no newline yet) waits in a buffer for its newline (capped at 64 KiB);
* lines become events through ``agents.loglevel.Assembler`` (levels, stack traces); a
  pending multi-line event goes out when the next event starts, or on the first poll at
  least ``flush_after`` seconds after its last line;
* at most ``rate_limit`` events per second leave the follower (all files together: it is
  the per-host budget), with bursts up to the same number; the rest are dropped, counted,
  and reported per source as one ``warning`` event "dropped N lines from SOURCE" once the
  one-second window has passed.

``emit(source, level, message, ts)`` runs on the thread that calls ``poll()``; ``source``
is the file's path, ``ts`` the wall-clock time the event's first line was read. ``emit``
should not raise: lines being handled when it does are lost.
"""

from __future__ import annotations

import glob
import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import BinaryIO

from agents.loglevel import Assembler, Event
from agents.ratelimit import TokenBucket
from core.clock import SYSTEM, Clock

log = logging.getLogger(__name__)

Emit = Callable[[str, str, str, float], None]
MAX_LINE_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 16 * 1024
READ_CHUNK = 256 * 1024
MAX_READ_PER_POLL = 4 * 1024 * 1024
REMEMBERED_ROTATIONS = 256


class _Tail:
    __slots__ = ("path", "fh", "ident", "pos", "buf", "asm", "grew_at", "skip_partial")

    def __init__(self, path: str, fh: BinaryIO, ident: tuple[int, int], pos: int,
                 asm: Assembler, now: float) -> None:
        self.path, self.fh, self.ident, self.pos, self.asm = path, fh, ident, pos, asm
        self.buf = b""
        self.grew_at = now
        self.skip_partial = False


class LogFollower:
    """``tail -F`` for a set of paths and globs; see the module doc for the behaviour."""

    def __init__(self, patterns: Iterable[str], emit: Emit, clock: Clock = SYSTEM,
                 rate_limit: float = 100.0, multiline: bool = True, from_start: bool = False,
                 flush_after: float = 0.5, max_files: int = 256,
                 limiter: TokenBucket | None = None, eager: bool = True) -> None:
        self.patterns = [os.path.expanduser(p) for p in patterns]
        self._emit = emit
        self._clock = clock
        self.multiline = multiline
        self.flush_after = flush_after
        self.eager = eager  # send an event at once when no continuation can follow it
        self.watch_mode = ""  # "inotify" or "poll" once run() has started
        self.max_files = max_files
        self.limiter = limiter or TokenBucket(rate_limit, clock)  # shareable per-host budget
        self._tails: dict[str, _Tail] = {}
        self._consumed: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._warned: set[str] = set()
        self._closed = False
        self.lines = 0
        self.events = 0
        self._discover(at_end=not from_start)

    # ------------------------------------------------------------------ public

    @property
    def sources(self) -> list[str]:
        """Paths followed right now."""
        return list(self._tails)

    @property
    def stats(self) -> dict[str, int]:
        return {"files": len(self._tails), "lines": self.lines, "events": self.events,
                "dropped": self.limiter.dropped_total}

    def poll(self) -> None:
        """One non-blocking pass: new lines of every file, rotations, new files, summaries."""
        if self._closed:
            raise RuntimeError("poll() on a closed LogFollower")
        for path in list(self._tails):
            self._update(self._tails[path])
        for tail in self._discover(at_end=False):
            self._read(tail, limit=MAX_READ_PER_POLL)
        mono = self._clock.monotonic()
        for tail in self._tails.values():
            if tail.asm.pending and mono - tail.grew_at >= self.flush_after:
                self._send(tail.path, tail.asm.flush())
        self._report_drops(force=False)

    def run(self, stop: threading.Event, interval: float = 0.25,
            use_inotify: bool = True) -> None:
        """``poll()`` at once when a followed directory changes (inotify, see
        agents/watch.py) and at least every ``interval`` seconds, until ``stop`` is set;
        always ``close()``s (a supervisor that restarts this builds a new follower, which
        starts at the ends)."""
        from agents.watch import ChangeWatcher

        watcher = ChangeWatcher(self.patterns, use_inotify=use_inotify)
        self.watch_mode = watcher.mode
        refreshed = self._clock.monotonic()
        try:
            while not stop.is_set():
                self.poll()
                if self._clock.monotonic() - refreshed >= 5.0:
                    watcher.refresh()  # directories that appeared since
                    refreshed = self._clock.monotonic()
                watcher.wait(interval)
        finally:
            watcher.close()
            self.close()

    def close(self) -> None:
        """Emit what is pending (partial lines, multi-line events, drop counts); close files."""
        if self._closed:
            return
        self._closed = True
        for tail in list(self._tails.values()):
            self._finish(tail)
        self._tails.clear()
        self._report_drops(force=True)

    def __enter__(self) -> LogFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ files

    def _expand(self) -> list[str]:
        seen: dict[str, None] = {}
        for pattern in self.patterns:
            paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            for p in paths:
                seen.setdefault(os.path.abspath(p), None)
        return list(seen)

    def _discover(self, at_end: bool) -> list[_Tail]:
        """Open the files the patterns match that we do not follow yet."""
        new: list[_Tail] = []
        for path in self._expand():
            if path in self._tails:
                continue
            if len(self._tails) >= self.max_files:
                self._warn_once("max_files", "log capture: following at most %d files, "
                                "ignoring %s and others", self.max_files, path)
                break
            tail = self._open(path, at_end)
            if tail is not None:
                new.append(tail)
        return new

    def _open(self, path: str, at_end: bool) -> _Tail | None:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None  # directories, and FIFOs (opening one would block)
            fh = open(path, "rb")  # noqa: SIM115 - lives as long as the tail
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._warn_once(path, "log capture: cannot read %s: %s", path, exc)
            return None
        try:
            st = os.fstat(fh.fileno())
            ident = (st.st_dev, st.st_ino)
            skip_partial = False
            if ident in self._consumed:  # a rotated file we already read (app.log.1)
                pos = self._consumed.pop(ident)
            elif at_end and st.st_size:
                fh.seek(st.st_size - 1)
                skip_partial = fh.read(1) != b"\n"  # we start mid-line: skip its rest
                pos = st.st_size
            else:
                pos = 0
            fh.seek(pos)
        except OSError as exc:
            fh.close()
            self._warn_once(path, "log capture: cannot read %s: %s", path, exc)
            return None
        self._warned.discard(path)
        asm = Assembler(multiline=self.multiline, max_chars=MAX_MESSAGE_CHARS)
        tail = _Tail(path, fh, ident, pos, asm, self._clock.monotonic())
        tail.skip_partial = skip_partial
        self._tails[path] = tail
        return tail

    def _update(self, tail: _Tail) -> None:
        try:
            st: os.stat_result | None = os.stat(tail.path)
        except OSError:
            st = None
        if st is None or (st.st_dev, st.st_ino) != tail.ident:
            # renamed away or deleted: read the old file to its end, then let _discover
            # open whatever now lives at the path (from its start)
            self._read(tail, limit=None)
            self._finish(tail)
            del self._tails[tail.path]
            return
        if st.st_size < tail.pos:  # truncated in place
            self._emit_partial(tail)
            tail.fh.seek(0)
            tail.pos = 0
            tail.skip_partial = False
        if st.st_size > tail.pos:
            self._read(tail, limit=MAX_READ_PER_POLL)

    def _read(self, tail: _Tail, limit: int | None) -> None:
        budget = limit if limit is not None else -1
        while budget != 0:
            try:
                data = tail.fh.read(READ_CHUNK if budget < 0 else min(READ_CHUNK, budget))
            except OSError as exc:
                log.debug("log capture: read of %s failed: %s", tail.path, exc)
                return
            if not data:
                return
            tail.pos += len(data)
            if budget > 0:
                budget -= len(data)
            self._lines(tail, data)

    def _lines(self, tail: _Tail, data: bytes) -> None:
        buf = tail.buf + data
        *lines, rest = buf.split(b"\n")
        if tail.skip_partial and lines:
            lines = lines[1:]
            tail.skip_partial = False
        if len(rest) > MAX_LINE_BYTES:  # a "line" that never ends: cut it
            lines.append(rest)
            rest = b""
        tail.buf = rest
        if not lines:
            return
        now = self._clock.time()
        for raw in lines:
            self.lines += 1
            line = raw[:MAX_LINE_BYTES].decode("utf-8", "replace").rstrip("\r")
            for ev in tail.asm.feed(line, now):
                self._send(tail.path, ev)
        tail.grew_at = self._clock.monotonic()
        if self.eager and tail.asm.pending and not tail.asm.may_continue():
            self._send(tail.path, tail.asm.flush())  # nothing can follow it: send it now

    def _emit_partial(self, tail: _Tail) -> None:
        if tail.buf and not tail.skip_partial:
            self.lines += 1
            line = tail.buf[:MAX_LINE_BYTES].decode("utf-8", "replace").rstrip("\r")
            for ev in tail.asm.feed(line, self._clock.time()):
                self._send(tail.path, ev)
        tail.buf = b""
        self._send(tail.path, tail.asm.flush())

    def _finish(self, tail: _Tail) -> None:
        self._emit_partial(tail)
        self._consumed[tail.ident] = tail.pos
        while len(self._consumed) > REMEMBERED_ROTATIONS:
            self._consumed.popitem(last=False)
        tail.fh.close()

    # ------------------------------------------------------------------ events

    def _send(self, source: str, ev: Event | None) -> None:
        if ev is None:
            return
        if not self.limiter.allow(source, len(ev.lines)):
            return
        self.events += 1
        self._emit(source, ev.level, ev.message[:MAX_MESSAGE_CHARS], ev.ts)

    def _report_drops(self, force: bool) -> None:
        for source, n in self.limiter.summaries(force=force):
            msg = f"dropped {n} lines from {source} (rate limit {self.limiter.rate:g}/s)"
            self._emit(source, "warning", msg, self._clock.time())

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)
