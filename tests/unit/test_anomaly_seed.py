"""Seeding the anomaly rule from the store's hourly rollups: a real store, a fake clock."""

from __future__ import annotations

from broker.alerting.engine import AlertEngine
from broker.alerting.evaluators import AnomalySeries
from broker.alerting.rules import parse_rules
from broker.anomaly_seed import seed
from core.clock import FakeClock
from tests.unit.store_helpers import ev, running_store
from tests.unit.synthetic_series import daily

RULES = [{"name": "odd", "kind": "anomaly", "metric": "cpu.*"}]


def day_five(engine: AlertEngine, series: list[tuple[float, float]]) -> list[int]:
    onsets = []
    for i, (t, v) in enumerate(series):
        events = engine.on_sample("h1", {"cpu.percent": v}, None, t) + engine.tick(t)
        if any(e["kind"] == "alert" and e["data"]["to"] == "firing" for e in events):
            onsets.append(i)
    return onsets


def series_of(engine: AlertEngine) -> AnomalySeries:
    (s,) = engine.hosts["h1"].by_metric["cpu.percent"]
    assert isinstance(s, AnomalySeries)
    return s


def test_a_fresh_engine_learns_the_daily_cycle_from_the_store_at_once(tmp_path):
    cycle = daily(5 * 1440)  # five days of a 10-sigma daily swing, one sample a minute
    history, today = cycle[:4 * 1440], cycle[4 * 1440:]
    clock = FakeClock(history[0][0])
    with running_store(tmp_path / "e.db", clock) as store:
        for t, v in history:
            store.record_metrics("h1", {"cpu.percent": v, "mem.percent": 50.0}, t)
        clock.advance(today[0][0] - clock.time())
        for _ in range(2):  # minutes close into hours, hours are written with the next batch
            store.put(ev(ts=clock.time()))
            assert store.flush(5)
        seeded = AlertEngine(parse_rules(RULES, "t"))
        assert seed(seeded, store, clock.time()) == 1  # cpu.percent; no rule reads mem
    assert "h1" not in seeded.hosts  # nothing invented before the host speaks
    assert day_five(seeded, today) == []
    assert series_of(seeded).det.use_season
    fresh = AlertEngine(parse_rules(RULES, "t"))
    day_five(fresh, today)
    assert not series_of(fresh).det.use_season  # one day seen: no profile yet
