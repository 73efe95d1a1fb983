"""Opt-in diagnostics of the soak's slow keys: where the time of a key goes.

``Sampler`` (SOAK_SAMPLE=FILE): a thread samples the event loop thread's stack every
millisecond (as often as the GIL lets it) while a key is timed; the slowest keys' inclusive
counts per function are printed and their stacks pickled to FILE.
``GcTimes`` (SOAK_GC=1): every garbage collection's duration, so each timed key can say how
much of it was the collector's, and the totals by generation at the end.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter

ENABLED = bool(os.environ.get("SOAK_SAMPLE"))  # the file the stacks are pickled to


class Sampler:
    def __init__(self) -> None:
        self.target = threading.get_ident()
        self.counts: Counter[str] = Counter()
        self.stacks: Counter[tuple[str, ...]] = Counter()
        self.samples = 0
        self._on = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="soak-sampler")
        self._thread.start()

    def start(self) -> None:
        self.counts, self.stacks, self.samples = Counter(), Counter(), 0
        self._on.set()

    def stop(self) -> tuple[int, Counter[str], Counter[tuple[str, ...]]]:
        self._on.clear()
        return self.samples, self.counts, self.stacks

    def close(self) -> None:
        self._stop.set()
        self._on.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._on.wait()
            frame = sys._current_frames().get(self.target)
            if frame is not None and self._on.is_set():
                seen = set()
                stack = []
                while frame is not None:
                    code = frame.f_code
                    fn = code.co_filename
                    if "site-packages/" in fn:
                        fn = fn.split("site-packages/", 1)[1]
                    elif "/soak/" in fn:
                        fn = fn.split("/soak/", 1)[1]
                    name = f"{fn}:{code.co_name}"
                    stack.append(f"{name}:{frame.f_lineno}")
                    if name not in seen:
                        seen.add(name)
                        self.counts[name] += 1
                    frame = frame.f_back
                self.stacks[tuple(reversed(stack))] += 1
                self.samples += 1
            time.sleep(0.001)  # poll: the sampling interval (SOAK_SAMPLE only), not a wait


class GcTimes:
    """gc.callbacks: how long each collection took, by generation (SOAK_GC=1)."""

    def __init__(self) -> None:
        import gc

        self.times: list[tuple[float, int, float]] = []  # start, generation, seconds
        self._start = self._cpu = 0.0
        self._n2 = 0
        self.gen2: list[tuple[float, float, int, int]] = []  # wall, cpu, objects, collected
        self._gc = gc
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._start, self._cpu = now, time.thread_time()
            if info["generation"] == 2:
                self._n2 = len(self._gc.get_objects())
        else:
            self.times.append((self._start, info["generation"], now - self._start))
            if info["generation"] == 2:
                self.gen2.append((now - self._start, time.thread_time() - self._cpu, self._n2,
                                  info.get("collected", 0)))

    def between(self, t0: float, t1: float) -> tuple[float, float]:
        """GC seconds in [t0, t1] (all, gen 2)."""
        spans = [(g, s) for start, g, s in self.times if t0 <= start <= t1]
        return sum(s for _, s in spans), sum(s for g, s in spans if g == 2)

    def close(self) -> str:
        self._gc.callbacks.remove(self._callback)
        from collections import Counter as C
        objs = self._gc.get_objects()
        kinds = C(type(o).__name__ for o in objs)
        import resource
        out = [f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB; "
               f"{len(objs)} tracked objects, {self._gc.get_freeze_count()} frozen; "
               + ", ".join(f"{k} {n}" for k, n in kinds.most_common(12))]
        for gen in (0, 1, 2):
            s = [d for _, g, d in self.times if g == gen]
            if s:
                out.append(f"gen{gen}: {len(s)} x, {sum(s) * 1000:.0f} ms, max {max(s) * 1000:.1f} ms")
        out.append("gen2 wall/cpu ms, objects, collected: " + ", ".join(
            f"{w * 1000:.0f}/{c * 1000:.0f} {n} {k}" for w, c, n, k in self.gen2))
        return "; ".join(out)
