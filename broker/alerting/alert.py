"""One alert instance (rule x host x series) and its public dict form."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from broker.alerting.flapping import FlapDetector
from broker.alerting.rules import Rule
from core import units

INACTIVE, PENDING, FIRING, RESOLVED = "inactive", "pending", "firing", "resolved"


def episode_id(fp: str, origin: tuple[Any, ...]) -> str:
    """An episode's id: a hash of the alert's fingerprint and the identity of the sample that
    started it (agent, boot, seq), so every broker that sees the same stream agrees."""
    text = "\x1f".join([fp, *map(str, origin)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(rule: str, host: str, metric: str, labels: dict[str, str]) -> str:
    """Short stable id: first 12 hex of sha1(rule, host, metric, sorted labels)."""
    parts = [rule, host, metric] + [f"{k}={labels[k]}" for k in sorted(labels)]
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12]


class Alert:
    __slots__ = ("id", "rule", "host", "metric", "labels", "severity", "state", "value",
                 "threshold", "started_at", "updated_at", "resolved_at", "pending_since",
                 "cleared_since", "ack", "simulated", "sim_expires", "flap", "series",
                 "episode")

    def __init__(self, rule: Rule, host: str, metric: str, labels: dict[str, str],
                 simulated: bool = False) -> None:
        self.rule = rule
        self.host = host
        self.metric = metric
        self.labels = labels
        self.simulated = simulated
        self.id = fingerprint(rule.name, host, metric, labels)
        self.severity = "warning"
        self.state = INACTIVE
        self.value = 0.0
        self.threshold = 0.0
        self.started_at = 0.0
        self.updated_at = 0.0
        self.resolved_at: float | None = None
        self.pending_since: float | None = None
        self.cleared_since: float | None = None
        self.ack: dict[str, Any] | None = None
        self.sim_expires: float | None = None
        self.flap = FlapDetector()
        self.series: Any = None
        self.episode = ""  # episode_id() of the current firing (set when it opens)

    @property
    def active(self) -> bool:
        return self.state in (PENDING, FIRING)

    def match_labels(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """What silence matchers see; ``extra`` are the labels the host puts on its frames."""
        out = {**extra, **self.labels} if extra else dict(self.labels)
        out.update(host=self.host, rule=self.rule.name, alertname=self.rule.name,
                   severity=self.severity, kind=self.rule.kind, metric=self.metric,
                   state=self.state)
        return out

    def facts(self) -> dict[str, float]:
        """What the series knows beyond value/threshold (an anomaly's expected band)."""
        f = getattr(self.series, "facts", None)
        return f() if f is not None else {}

    def render(self, template: str) -> str:
        f = self.facts()
        expected = units.value_range(f["lo"], f["hi"], self.metric) if f else "the usual range"
        seen = units.value(f.get("seen", self.value), self.metric)
        try:
            return template.format(host=self.host, value=self.value, threshold=self.threshold,
                                   metric=self.metric, rule=self.rule.name,
                                   severity=self.severity, op=self.rule.op,
                                   expected=expected, seen=seen)
        except (KeyError, IndexError, ValueError, AttributeError):
            return template

    def to_dict(self, silenced: list[str], inhibited: bool,
                extra: Mapping[str, str] | None = None) -> dict[str, Any]:
        return {
            "id": self.id, "rule": self.rule.name, "host": self.host,
            "labels": {**extra, **self.labels} if extra else dict(self.labels), "severity": self.severity, "state": self.state,
            "acked": self.ack is not None, "ack": dict(self.ack) if self.ack else None,
            "silenced": silenced, "inhibited": inhibited, "flapping": self.flap.flapping,
            "value": self.value, "threshold": self.threshold, "metric": self.metric,
            "summary": self.render(self.rule.summary),
            "description": self.render(self.rule.description),
            "started_at": self.started_at, "updated_at": self.updated_at,
            "resolved_at": self.resolved_at, "simulated": self.simulated,
            "kind": self.rule.kind, "op": self.rule.op, "runbook_url": self.rule.runbook_url,
            "episode": self.episode,
            **({"expected": [f["lo"], f["hi"]], "zscore": f["z"]} if (f := self.facts())
               else {}),
        }

    # ------------------------------------------------------------ persistence

    _SAVED = ("severity", "state", "value", "threshold", "started_at", "updated_at",
              "resolved_at", "pending_since", "cleared_since", "ack", "sim_expires", "episode")

    def dump(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self._SAVED}
        d.update(id=self.id, rule=self.rule.name, host=self.host, metric=self.metric,
                 labels=dict(self.labels), simulated=self.simulated, flap=self.flap.dump())
        return d

    def load(self, d: dict[str, Any]) -> None:
        for k in self._SAVED:
            if k in d:
                setattr(self, k, d[k])
        self.flap.load(d.get("flap") or {})
