"""Running a function on the core thread from another thread, and waiting for its result.

``BrokerCore.call`` posts ``fn`` (``BrokerCore.post``: a queue and a wake-up pipe) and
waits here. The wait gives up when the loop stops (nothing posted then will run: a
stopping broker's peer link used to sit out the whole timeout) or at the deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def run_and_wait(post: Callable[[Callable[[], None]], None], stop: threading.Event,
                 fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()``'s result, or its exception, from the thread that ``post`` hands it to."""
    done = threading.Event()
    box: list[Any] = []

    def run() -> None:
        try:
            box.append((True, fn()))
        except Exception as exc:  # handed back to the caller's thread
            box.append((False, exc))
        finally:
            done.set()

    post(run)
    deadline = time.monotonic() + timeout  # a real wait, whatever the clock
    while not done.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
        if stop.is_set():  # stopping: nothing posted now will run
            raise TimeoutError("the core loop is stopping")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the core loop did not answer within {timeout:g}s")
    ok, value = box[0]
    if not ok:
        raise value
    return value
