"""A joining host of a shape seen before is routed from shared templates (the rules that
match each name, the quiet guard's checks): it must get exactly what a host routed from
scratch gets, with series of its own."""

from __future__ import annotations

import pytest

from broker.alerting.engine import AlertEngine
from broker.alerting.quiet import QuietPlan
from tests.unit.engine_helpers import T0, engine_from, rule

SHAPE = {"cpu.percent": 10.0, "cpu.count": 4.0, "mem.percent": 20.0, "load.1": 1.0,
         "disk./.percent": 30.0, "disk./var.percent": 35.0, "net.eth0.errin_ps": 0.0,
         "swap.percent": 0.0}
FILTERED = (rule("cpu_hot", kind="threshold", metric="cpu.percent", op=">", critical=90.0,
                 clear=5.0, for_="0s")
            + rule("db_mem", kind="threshold", metric="mem.percent", op=">", critical=90.0,
                   clear=5.0, for_="0s", hosts=["db-*"])
            + rule("load_core", kind="threshold", metric="load.1", op=">", critical=2.0,
                   clear=0.5, for_="0s", per_core=True)
            + rule("disk_avg", kind="threshold", metric="disk.*.percent", op=">",
                   warning=80.0, clear=5.0, for_="0s", over="2m"))


def picture(engine: AlertEngine, host: str) -> object:
    hs = engine.hosts[host]
    return {n: [(s.rule.name, type(s).__name__, s.metric) for s in ss]
            for n, ss in hs.by_metric.items()}


def plan_view(plan: QuietPlan) -> object:
    return (plan.checks, plan.per_core, [(n, [id(s) for s in ss]) for n, ss in plan.rest],
            [id(s) for s in plan.guarded])


@pytest.mark.parametrize("text", [None, FILTERED], ids=["default rules", "host filters"])
def test_hosts_of_one_shape_are_routed_as_from_scratch(text: str | None) -> None:
    engine = AlertEngine() if text is None else engine_from(text)
    hosts = ["web-1", "db-1", "web-2", "db-2", "web-3"]
    for h in hosts:
        engine.on_sample(h, dict(SHAPE), None, T0)
    seen: set[int] = set()
    for h in hosts:
        hs = engine.hosts[h]
        alone = AlertEngine(engine.rules)  # a fresh engine: this host routed from scratch
        alone.on_sample(h, dict(SHAPE), None, T0)
        assert picture(engine, h) == picture(alone, h)
        # the shared plan is the plan of this host's own series
        assert plan_view(hs.plan) == plan_view(QuietPlan(hs.watched))
        mine = [s for _, ss in hs.watched for s in ss]
        assert mine and all(s.host == h for s in mine)
        assert not seen & set(map(id, mine)), "a series shared between two hosts"
        seen |= set(map(id, mine))
    if text is not None:  # the filter held: only db-* hosts watch mem.percent
        assert [h for h in hosts if "mem.percent" in dict(engine.hosts[h].watched)] == [
            "db-1", "db-2"]


def test_hosts_of_one_shape_alert_alone() -> None:
    """Quiet guards made from one template: each host fires on its own values only."""
    engine = engine_from(FILTERED)
    for h in ("web-1", "db-1", "web-2", "db-2"):
        for i in range(3):
            engine.on_sample(h, dict(SHAPE), None, T0 + i)
    fired = []
    fired += engine.on_sample("web-2", {**SHAPE, "cpu.percent": 99.0}, None, T0 + 5)
    fired += engine.on_sample("db-2", {**SHAPE, "mem.percent": 99.0}, None, T0 + 5)
    fired += engine.on_sample("web-1", {**SHAPE, "mem.percent": 99.0}, None, T0 + 5)
    fired += engine.on_sample("db-1", {**SHAPE, "load.1": 12.0}, None, T0 + 5)
    active = sorted((a["rule"], a["host"]) for a in engine.alerts() if a["state"] == "firing")
    assert active == [("cpu_hot", "web-2"), ("db_mem", "db-2"), ("load_core", "db-1")]
    assert len([e for e in fired if e["kind"] == "alert"]) == 3
