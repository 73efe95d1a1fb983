"""The firing alerts that can inhibit, indexed by inhibit rule and by their ``equal`` labels.

``inhibit.inhibited_by`` scans every firing source for every alert it is asked about; the
alert book used to rebuild that list of sources whenever any alert fired or resolved. When
a whole fleet goes silent at once (10,000 ``host_down`` alerts in one tick: a network cut
between the fleet and the broker), every firing rebuilt the list and every event scanned
it: quadratic, minutes of a stalled core loop. Here a firing alert is filed once per rule
whose ``source`` it matches, under the tuple of its ``equal`` label values; asking about an
alert is one lookup per rule whose ``target`` it matches. Same meaning as
``inhibit.inhibited_by`` (a label neither alert has counts as equal; an alert never
inhibits itself); tests/unit/test_inhibit.py holds both to the same cases.
"""

from __future__ import annotations

from collections.abc import Iterable

from broker.alerting.inhibit import InhibitRule

Key = tuple[str, ...]


class SourceIndex:
    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self.rules = list(rules)
        self.by_rule: list[dict[Key, set[str]]] = [{} for _ in self.rules]
        self.filed: dict[str, list[tuple[int, Key]]] = {}  # alert id -> where it is filed

    def add(self, alert_id: str, labels: dict[str, str]) -> None:
        """File a firing alert (again: its labels or severity may have changed)."""
        self.remove(alert_id)
        where = []
        for i, r in enumerate(self.rules):
            if all(m.matches(labels) for m in r.source):
                key = tuple(labels.get(k, "") for k in r.equal)
                self.by_rule[i].setdefault(key, set()).add(alert_id)
                where.append((i, key))
        if where:
            self.filed[alert_id] = where

    def remove(self, alert_id: str) -> None:
        for i, key in self.filed.pop(alert_id, ()):
            ids = self.by_rule[i][key]
            ids.discard(alert_id)
            if not ids:
                del self.by_rule[i][key]

    def inhibited_by(self, target: dict[str, str], target_id: str) -> str | None:
        """The name of the first rule under which a filed alert inhibits ``target``."""
        for i, r in enumerate(self.rules):
            filed = self.by_rule[i]
            if not filed or not all(m.matches(target) for m in r.target):
                continue
            ids = filed.get(tuple(target.get(k, "") for k in r.equal))
            if ids and (len(ids) > 1 or target_id not in ids):
                return r.name
        return None

    def inhibitors(self, target: dict[str, str], target_id: str) -> list[tuple[str, str]]:
        """Every (rule name, filed alert id) that inhibits ``target`` (the incident view)."""
        out = []
        for i, r in enumerate(self.rules):
            filed = self.by_rule[i]
            if not filed or not all(m.matches(target) for m in r.target):
                continue
            ids = filed.get(tuple(target.get(k, "") for k in r.equal), ())
            out += [(r.name, sid) for sid in sorted(ids) if sid != target_id]
        return out
