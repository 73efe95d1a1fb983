"""Scrape a Prometheus ``/metrics`` endpoint (node_exporter, an application) into metrics.

One target per ``[[agent.scrape]]`` table, each on its own supervised thread:
``url``, ``interval`` (default 15 s), ``timeout`` (default 5 s), ``allow`` / ``deny``
(globs on the sample name; deny wins), ``labels`` (extra labels added to every sample),
``name`` (default: the URL's host_port) and ``limit`` (samples per scrape, default 1000).

The exposition text is parsed with ``prometheus-client``'s parser. A sample becomes the
metric ``<name>{label="v",...}`` (labels sorted, as Prometheus prints them; no labels, no
braces). Every scrape also gives ``scrape.<target>.up`` (1 or 0),
``scrape.<target>.duration_s`` and ``scrape.<target>.samples``. A target that is down,
slow (past ``timeout``), answers an HTTP error or sends text that does not parse gives
``up = 0`` and a warning event when it goes down (and an info event when it comes back):
never a crash.
"""

from __future__ import annotations

import fnmatch
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_BODY = 16 * 2**20


@dataclass
class Target:
    name: str
    url: str
    interval: float = 15.0
    timeout: float = 5.0
    allow: tuple[str, ...] = ("*",)
    deny: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    limit: int = 1000


def series_name(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def parse(text: str, target: Target) -> tuple[dict[str, float], int]:
    """(metrics, samples left out by ``limit``); raises ValueError on malformed text."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    over = 0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if not any(fnmatch.fnmatchcase(s.name, g) for g in target.allow):
                continue
            if any(fnmatch.fnmatchcase(s.name, g) for g in target.deny):
                continue
            v = float(s.value)
            if not math.isfinite(v):
                continue  # NaN and +Inf (le="+Inf" buckets' bounds are labels, not values)
            name = series_name(s.name, {**s.labels, **target.labels})
            if len(name) > 200 or not name.isprintable():
                continue
            if len(out) >= target.limit:
                over += 1
                continue
            out[name] = v
    return out, over


def fetch(target: Target) -> str:
    import urllib.request  # imported here: http.client and ssl cost an agent without scrapes

    req = urllib.request.Request(target.url, headers={
        "Accept": "text/plain;version=0.0.4", "User-Agent": "monitor-agent"})
    with urllib.request.urlopen(req, timeout=target.timeout) as resp:  # noqa: S310 - config
        body = resp.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise ValueError(f"body over {MAX_BODY} bytes")
        charset = resp.headers.get_content_charset() or "utf-8"
        return str(body.decode(charset, "replace"))


class Scraper:
    """The agent child for one target."""

    def __init__(self, target: Target, publish: Callable[[dict[str, float]], None],
                 event: Callable[[str, str, str], None]) -> None:
        self.target = target
        self.publish, self.event = publish, event
        self.up: bool | None = None
        self.scrapes = 0

    def scrape_once(self) -> dict[str, float]:
        import urllib.error

        t = self.target
        p = f"scrape.{t.name}."
        t0 = time.monotonic()
        error = ""
        metrics: dict[str, float] = {}
        try:
            metrics, over = parse(fetch(t), t)
            if over:
                error = f"{over} samples over the limit of {t.limit} were left out"
        except (urllib.error.URLError, OSError, ValueError, UnicodeError) as exc:
            reason: Any = getattr(exc, "reason", None) or exc
            self._down(f"scrape {t.url} failed: {reason}")
            metrics, error = {}, "down"
        else:
            if self.up is False:
                self.event("info", f"scrape {t.url} is up again", f"scrape:{t.name}")
            self.up = True
            if error:
                self.event("warning", f"scrape {t.url}: {error}", f"scrape:{t.name}")
        self.scrapes += 1
        metrics[p + "up"] = 1.0 if error != "down" else 0.0
        metrics[p + "duration_s"] = time.monotonic() - t0
        metrics[p + "samples"] = float(len(metrics) - 2)
        return metrics

    def _down(self, why: str) -> None:
        if self.up is not False:
            self.event("warning", why, f"scrape:{self.target.name}")
        self.up = False

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            self.publish(self.scrape_once())
            stop.wait(max(0.0, self.target.interval - (time.monotonic() - started)))
