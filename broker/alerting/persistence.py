"""Engine state as a msgpack-safe dict, so alerts, acks and silences survive a restart.

Saved: every alert the book holds (state, severity, ack, timestamps, flap history),
the silences, the hosts seen, and the anomaly baselines (learning them again takes the
whole warm-up). Not saved: sliding windows and trends, which refill from new samples.

A restart keeps firing alerts firing, with their acks and episode ids, and pending ``for:``
timers resume from their saved start. A host is judged by its saved last-seen time, so a
host silent across the restart stays down (its ``host_down`` keeps firing, acked or not)
and one that went silent just before it goes down on time; no new ``host_down`` fires in
the first ``RESTART_HOLD_S`` after the restore, the time agents need to reconnect and
deliver what they queued. A host saved without a last-seen time (an older dump) gets
the full ``host_down`` delay from the first tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from broker.alerting import internal
from broker.alerting.alert import Alert
from broker.alerting.evaluators import AnomalySeries
from broker.alerting.silences import Silence

if TYPE_CHECKING:
    from broker.alerting.engine import AlertEngine

VERSION = 1


def dump(engine: AlertEngine, baselines: bool = True, hosts: bool = True) -> dict[str, Any]:
    """Without ``hosts``, the per-host part (names, labels, last-seen, origin: it grows with
    the fleet) is left out; broker/state_saver.py saves it on its own cadence."""
    saved = [[s.rule.name, s.host, s.metric, s.dump()]
             for hs in engine.hosts.values() for ss in hs.by_metric.values() for s in ss
             if isinstance(s, AnomalySeries) and s.det.n] if baselines else []
    out = {
        "version": VERSION,
        "now": engine.now,
        "alerts": [a.dump() for a in engine.book.by_id.values()],
        "silences": [s.to_dict() for s in engine.book.silences.by_id.values()],
        **({"baselines": saved} if baselines else {}),
    }
    if hosts:
        out["hosts"] = sorted(engine.hosts)
        out["host_labels"] = {h: dict(v) for h, v in engine.book.host_labels.items()}
        out["last_seen"] = {h: hs.last_seen for h, hs in engine.hosts.items()
                            if hs.last_seen is not None}
        out["origin"] = {h: list(o) for h, o in engine.book.origin.items()}
    return out


def restore(engine: AlertEngine, state: Mapping[str, Any]) -> None:
    """Load a ``dump``; alerts of rules that no longer exist are dropped."""
    if state.get("version") != VERSION:
        raise ValueError(f"engine state version {state.get('version')!r} is not {VERSION}")
    rules = {r.name: r for r in engine.rules if r.enabled}
    engine.now = max(engine.now, float(state.get("now", 0.0)))
    seen = state.get("last_seen") or {}
    for name in state.get("hosts", []):
        hs = engine.host_series(name)
        if name in seen:
            hs.last_seen = float(seen[name])
            for down in hs.down:
                down.last_ts = hs.last_seen
        else:
            engine.grant_grace(hs.down)
    engine.book.origin.update({h: tuple(o) for h, o in (state.get("origin") or {}).items()})
    engine.hold_until = -1.0  # the first tick starts the hold (engine.RESTART_HOLD_S)
    for d in state.get("alerts", []):
        rule = rules.get(d.get("rule", "")) or internal.RULES.get(d.get("rule", ""))
        if rule is None:
            continue
        a = Alert(rule, d["host"], d.get("metric", ""), dict(d.get("labels", {})),
                  simulated=bool(d.get("simulated")))
        a.load(d)
        engine.book.by_id[a.id] = a
        if a.rule.kind == "host_down" and a.state == "firing":
            engine.book.down_hosts[a.host] = engine.book.down_hosts.get(a.host, 0) + 1
        if not a.simulated and rule.kind != internal.KIND:
            engine.attach(a)
    engine.book.host_labels.update(state.get("host_labels", {}))
    engine.book.changed()
    for d in state.get("silences", []):
        engine.book.silences.add(Silence.from_dict(d))
    for rule_name, host, metric, data in state.get("baselines", []):
        hs = engine.host_series(host)
        if metric not in hs.by_metric:
            engine.index.learn(hs, (metric,))
        for s in hs.by_metric[metric]:
            if isinstance(s, AnomalySeries) and s.rule.name == rule_name:
                s.load(data)
