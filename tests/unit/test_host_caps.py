"""Probation, host cap, host_expire and goodbye in the pure frame handler (no sockets)."""

from __future__ import annotations

from typing import Any

from broker.alerting.engine import AlertEngine
from broker.alerting.rules import Rule
from broker.ingest.handler import EXPIRE_EVERY_S, FrameHandler
from broker.ingest.state import State
from broker.limits import Limits, parse_limits
from core import protocol

T0 = 1_700_000_000.0
DOWN = Rule(name="down", kind="host_down", for_=30.0, severity="critical")


def parts(host: str, seq: int, ts: float, kind: str = "metrics") -> list[bytes]:
    if kind == "goodbye":
        return protocol.encode(protocol.goodbye_frame(host, "a", "b", seq, ts))
    return protocol.encode(protocol.metrics_frame(host, "a", "b", seq, ts, {"cpu.percent": 1}))


def kinds(out: list[tuple[str, Any]]) -> list[str]:
    return [x["kind"] for what, x in out if what == "emit"]


def handler(**lim: Any) -> FrameHandler:
    limits = Limits(**lim)
    return FrameHandler(State(limits.max_hosts, probation=True), engine=AlertEngine([DOWN]),
                        limits=limits)


def test_a_new_host_is_admitted_on_its_second_frame() -> None:
    h = handler()
    assert h.ingest(parts("web-1", 0, T0), T0) == [] and not h.state.hosts
    assert "host.up" in kinds(h.ingest(parts("web-1", 1, T0 + 1), T0 + 1))
    assert h.state.held == 1 and "web-1" in h.state.hosts


def test_host_expire_forgets_a_silent_host_with_an_event_and_resolves_its_page() -> None:
    h = handler(host_expire=3600.0)
    h.ingest(parts("old", 0, T0), T0)
    h.ingest(parts("old", 1, T0), T0)
    fired = kinds(h.tick(T0 + 40))
    assert "alert" in fired
    out = h.tick(T0 + 3601 + EXPIRE_EVERY_S)
    assert "host.forgotten" in kinds(out) and "old" not in h.state.hosts
    assert h.engine is not None and not h.engine.knows("old")
    assert [x["data"]["to"] for w, x in out if w == "emit" and x["kind"] == "alert"] == [
        "resolved"] and h.engine.alerts() == []


def test_goodbye_means_stopped_and_no_host_down() -> None:
    h = handler()
    h.ingest(parts("calm", 0, T0), T0)
    h.ingest(parts("calm", 1, T0), T0)
    out = h.ingest(parts("calm", 2, T0 + 1, kind="goodbye"), T0 + 1)
    assert "host.stopped" in kinds(out) and h.state.hosts["calm"].status == "stopped"
    assert "alert" not in kinds(h.tick(T0 + 100))
    h.ingest(parts("calm", 3, T0 + 200), T0 + 200)  # back: judged as usual again
    assert "alert" in kinds(h.tick(T0 + 240))


def test_bad_limits_name_the_key() -> None:
    for section, needle in [({"max_hosts": 0}, "max_hosts"), ({"max_series": 1.5}, "whole"),
                            ({"host_expire": "soon"}, "host_expire")]:
        try:
            parse_limits(section)
        except ValueError as exc:
            assert needle in str(exc)
        else:
            raise AssertionError(section)
    assert parse_limits({"host_expire": "1d"}).host_expire == 86400.0


def test_a_host_the_engine_knows_skips_probation_after_a_restart() -> None:
    h = handler()
    assert h.engine is not None
    h.engine.host_series("known-1")  # as restore_state does for the hosts it saved
    assert "host.up" in kinds(h.ingest(parts("known-1", 50, T0), T0))
    assert h.state.held == 0


def test_the_default_caps_admit_a_fleet_of_10000_real_agents_joining_at_once() -> None:
    # the series of monitor-agent on a 2-core VM with 4 network interfaces: 55
    names = ([f"cpu.{k}" for k in ("percent", "count", "iowait", "steal", "system", "user",
                                   "0.percent", "1.percent")]
             + [f"net.if{i}.{k}" for i in range(4) for k in (
                 "dropin_ps", "errin_ps", "errout_ps", "rx_bps", "rx_pps", "tx_bps", "tx_pps")]
             + [f"misc.m{i}" for i in range(19)])
    assert len(names) == 55
    metrics = dict.fromkeys(names, 1.0)
    h = handler()
    hosts = [f"node-{i:05d}" for i in range(10_000)]
    for seq in (0, 1):  # every host's first frame, then every host's second
        for host in hosts:
            h.ingest(protocol.encode(protocol.metrics_frame(host, host, "b", seq, T0 + seq,
                                                            metrics)), T0 + seq)
    assert len(h.state.hosts) == 10_000 and h.state.held == 10_000
    assert h.state.series_count() == 550_000
    assert not h.rejected and h.state.evicted == 0
