import math
import time

import pytest

from agents.simulate import INCIDENT_PERIOD_S, FleetSimulator, host_names

T0 = 1_700_000_000.0
NAMES = {
    "cpu.percent", "cpu.user", "cpu.system", "cpu.iowait", "cpu.count", "mem.percent",
    "mem.used", "mem.total", "swap.percent", "disk./.percent", "disk./var.percent",
    "net.eth0.rx_bps", "net.eth0.tx_bps", "net.eth0.errin_ps", "diskio.sda.read_bps",
    "diskio.sda.write_bps", "load.1", "load.5", "load.15", "proc.count", "uptime",
}


def run(sim, seconds, step=1.0):
    return [sim.sample(T0 + i * step) for i in range(seconds)]


def test_host_names_mix_roles():
    names = [n for n, _ in host_names(5)]
    assert names == ["web-01", "db-01", "cache-01", "worker-001", "api-01"]
    many = [n for n, _ in host_names(1000)]
    assert len(set(many)) == 1000
    assert {n.split("-")[0] for n in many} == {"web", "db", "cache", "worker", "api", "lb"}


def test_rejects_empty_fleet():
    with pytest.raises(ValueError):
        FleetSimulator(0)


def test_deterministic_for_seed_and_time_sequence():
    a = run(FleetSimulator(30, seed=7, start_ts=T0), 120)
    b = run(FleetSimulator(30, seed=7, start_ts=T0), 120)
    c = run(FleetSimulator(30, seed=8, start_ts=T0), 120)
    assert a == b
    assert a != c


def test_same_names_and_realistic_ranges():
    sim = FleetSimulator(40, seed=1, start_ts=T0, incidents=False)
    for samples in run(sim, 600, step=5.0):
        assert len(samples) == 40
        for host, m in samples:
            assert m.keys() == NAMES, host
            assert all(isinstance(v, float) and math.isfinite(v) for v in m.values())
            for k, v in m.items():
                if k.endswith("percent"):
                    assert 0.0 <= v <= 100.0, (host, k, v)
                else:
                    assert v >= 0.0, (host, k, v)
            assert m["mem.used"] <= m["mem.total"]
            assert m["cpu.user"] + m["cpu.system"] <= m["cpu.percent"] + 1e-9
            assert m["load.1"] <= 3 * m["cpu.count"]
            assert m["uptime"] > 3000


def test_load_varies_slowly_with_occasional_spikes():
    sim = FleetSimulator(20, seed=3, start_ts=T0, incidents=False)
    series = [dict(s)["web-01"]["cpu.percent"] for s in run(sim, 3600)]
    steps = [abs(b - a) for a, b in zip(series, series[1:], strict=False)]
    steps.sort()
    assert steps[len(steps) // 2] < 5.0  # median second-to-second change is small
    assert max(series) - min(series) > 10.0  # but it does move over an hour
    # across the fleet, spikes happen
    sim = FleetSimulator(200, seed=3, start_ts=T0, incidents=False)
    peaks = [max(m["cpu.percent"] for _, m in s) for s in run(sim, 600)]
    assert max(peaks) > 85.0


def test_scripted_incidents_happen():
    sim = FleetSimulator(10, seed=2, start_ts=T0)
    sched = sim.schedule(T0 + INCIDENT_PERIOD_S - 1)
    assert [i.kind for i in sched] == ["cpu", "disk", "down"]
    cpu, disk, down = sched
    assert len({cpu.host, disk.host, down.host}) == 3
    assert cpu.end - cpu.start == 60.0

    seen_cpu = seen_disk = False
    seen_down = False
    for i in range(int(INCIDENT_PERIOD_S)):
        now = T0 + i
        by_host = dict(sim.sample(now))
        silent = sim.silent_hosts(now)
        assert not silent & by_host.keys()
        if cpu.start <= now < cpu.end:
            assert by_host[cpu.host]["cpu.percent"] >= 95.0
            seen_cpu = True
        if now >= disk.start + 120 and now < disk.end:
            assert by_host[disk.host]["disk./var.percent"] >= 98.9
            seen_disk = True
        if down.start <= now < down.end:
            assert silent == {down.host} and len(by_host) == 9
            seen_down = True
        elif now >= down.end:
            assert down.host in by_host
    assert seen_cpu and seen_disk and seen_down
    # and the script repeats with other hosts
    later = sim.schedule(T0 + 3 * INCIDENT_PERIOD_S - 1)
    assert len(later) == 9 and later[:3] == sched


def test_no_incidents_when_disabled():
    sim = FleetSimulator(5, seed=2, start_ts=T0, incidents=False)
    assert sim.schedule(T0 + 10_000) == []
    assert all(len(s) == 5 for s in run(sim, 600, step=2.0))


def test_single_host_fleet_runs_the_script_on_itself():
    sim = FleetSimulator(1, start_ts=T0)
    assert {i.host for i in sim.schedule(T0 + 600)} == {"web-01"}


def test_host_info():
    sim = FleetSimulator(3, start_ts=T0)
    info = sim.host_info("db-01")
    assert info["role"] == "db" and info["simulated"] is True
    assert info["cores"] >= 1 and info["mem_total"] > 0 and info["boot_time"] < T0
    with pytest.raises(KeyError):
        sim.host_info("nope")


def test_log_lines_are_occasional_deterministic_and_skip_silent_hosts():
    def collect(seed):
        sim = FleetSimulator(100, seed=seed, start_ts=T0)
        out = []
        for i in range(int(INCIDENT_PERIOD_S)):
            now = T0 + i
            lines = sim.log_lines(now)
            silent = sim.silent_hosts(now)
            assert not {h for h, *_ in lines} & silent
            out.append(lines)
        return out, sim

    a, sim = collect(4)
    b, _ = collect(4)
    assert a == b
    flat = [line for lines in a for line in lines]
    assert 200 < len(flat) < 1000  # ~100 hosts * 600 s / 120 s
    assert {lvl for _, lvl, _, _ in flat} <= {"debug", "info", "warning", "error", "critical"}
    cpu = sim.schedule(T0 + 100)[0]
    assert any(h == cpu.host and lvl in ("warning", "error", "critical") for h, lvl, _, _ in flat)


def test_log_lines_do_not_change_samples():
    a = FleetSimulator(10, seed=5, start_ts=T0)
    b = FleetSimulator(10, seed=5, start_ts=T0)
    for i in range(50):
        b.log_lines(T0 + i)
        assert a.sample(T0 + i) == b.sample(T0 + i)


def test_thousand_hosts_sample_fast():
    sim = FleetSimulator(1000, seed=0, start_ts=T0)
    sim.sample(T0)
    t0 = time.perf_counter()
    for i in range(1, 11):
        sim.sample(T0 + i)
    per_sample_ms = (time.perf_counter() - t0) / 10 * 1000
    assert per_sample_ms < 50.0
