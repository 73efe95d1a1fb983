"""Helpers of the log follower tests."""

from __future__ import annotations


def write(path, text, mode="a"):
    with open(path, mode, encoding="utf-8") as fh:
        fh.write(text)


def settle(f, clock):
    """Let an idle multi-line event go out: advance past flush_after and poll."""
    clock.advance(f.flush_after)
    f.poll()


TRACEBACK = """\
2024-05-01 12:00:00 ERROR request failed
Traceback (most recent call last):
  File "app.py", line 10, in handle
    do_it()
  File "app.py", line 5, in do_it
    raise ValueError("boom")
ValueError: boom
"""
