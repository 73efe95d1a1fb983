"""The system collector against the real psutil of the host running the tests."""

import math
import time
from collections import namedtuple

import psutil
import pytest

from agents import system
from agents.collector import Collector
from agents.system import SystemCollector

BASE_NAMES = {
    "cpu.count", "mem.percent", "mem.used", "mem.total", "mem.available",
    "swap.percent", "swap.used", "uptime", "proc.count", "load.1", "load.5", "load.15",
}


@pytest.fixture
def collector():
    c = SystemCollector()
    yield c
    c.close()


def _burn_cpu_a_little():
    # make sure the cpu_times difference is non-zero without sleeping for a fixed time
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.1:
        sum(range(1000))


def test_is_a_collector(collector):
    assert isinstance(collector, Collector)
    assert collector.name == "system"


def test_expected_names_present_and_finite(collector):
    _burn_cpu_a_little()
    m = collector.collect(time.time())
    assert BASE_NAMES <= m.keys()
    assert "cpu.percent" in m
    cores = psutil.cpu_count()
    assert all(f"cpu.{i}.percent" in m for i in range(cores))
    assert any(k.startswith("disk.") and k.endswith(".percent") for k in m)
    for name, value in m.items():
        assert isinstance(value, float), name
        assert math.isfinite(value), name
    for name in m:
        if name.endswith(".percent"):
            assert 0.0 <= m[name] <= 100.0, name
    assert m["mem.used"] <= m["mem.total"]
    assert m["cpu.count"] == cores
    assert m["uptime"] > 0


def test_first_collect_has_no_rates_second_has(collector):
    now = time.time()
    first = collector.collect(now)
    assert not any(k.startswith(("net.", "diskio.")) for k in first)
    second = collector.collect(now + 1.0)
    nets = [k for k in second if k.startswith("net.")]
    assert nets, "expected at least one network interface"
    for suffix in ("rx_bps", "tx_bps", "rx_pps", "tx_pps", "errin_ps", "errout_ps", "dropin_ps"):
        assert any(k.endswith("." + suffix) for k in nets), suffix
    for k in nets:
        assert second[k] >= 0.0
    disks = [k for k in second if k.startswith("diskio.")]
    for k in disks:
        assert second[k] >= 0.0
        assert not k.split(".")[1].startswith(("loop", "ram", "zram"))


def test_platform_specific_cpu_fields_only_when_present(collector):
    _burn_cpu_a_little()
    m = collector.collect(time.time())
    fields = psutil.cpu_times()._fields
    for f in ("iowait", "steal"):
        assert (f"cpu.{f}" in m) == (f in fields)
    assert "cpu.user" in m and "cpu.system" in m


def test_cpu_percent_waits_for_a_meaningful_window(collector, monkeypatch):
    # a collect() right after the baseline (no CPU time passed) gives no percentages yet,
    # and keeps the baseline so the next one covers the whole window
    frozen = psutil.cpu_times(percpu=True)
    monkeypatch.setattr(psutil, "cpu_times", lambda percpu=False: frozen)
    collector._cpu_prev = frozen
    m = collector.collect(time.time())
    assert "cpu.percent" not in m and m["cpu.count"] >= 1
    monkeypatch.undo()
    _burn_cpu_a_little()
    assert "cpu.percent" in collector.collect(time.time())


def test_failing_section_loses_only_its_metrics(collector, monkeypatch):
    def boom(*a, **k):
        raise OSError("no swap here")

    monkeypatch.setattr(psutil, "net_io_counters", boom)
    m = collector.collect(time.time())
    assert "mem.percent" in m and "load.1" in m
    assert not any(k.startswith("net.") for k in m)


def test_mount_filtering(monkeypatch):
    P = namedtuple("P", "device mountpoint fstype opts")
    fake = [
        P("/dev/sda1", "/", "ext4", "rw"),
        P("/dev/sda1", "/var/lib/docker/overlay2/x/merged", "ext4", "rw"),
        P("/dev/loop3", "/snap/core/1", "squashfs", "ro"),
        P("overlay", "/var/lib/docker/overlay2/y", "overlay", "rw"),
        P("/dev/sdb1", "/var", "xfs", "rw"),
    ]
    monkeypatch.setattr(psutil, "disk_partitions", lambda all=False: fake)
    assert system.real_mounts() == ["/", "/var"]


def test_whole_disks_drop_partitions_and_ram_devices():
    names = ["sda", "sda1", "sda2", "nvme0n1", "nvme0n1p1", "loop0", "ram0", "zram0", "dm-0"]
    assert system._whole_disks(names) == {"sda", "nvme0n1", "dm-0"}


def test_host_info_fields():
    info = SystemCollector.host_info()
    for key in ("os", "os_release", "platform", "python", "cores", "mem_total",
                "boot_time", "agent_version"):
        assert key in info
    assert info["cores"] >= 1 and info["mem_total"] > 0
    assert isinstance(info["agent_version"], str) and info["agent_version"]


def test_collect_is_cheap(collector):
    collector.collect(time.time())
    t0 = time.perf_counter()
    for _ in range(20):
        collector.collect(time.time())
    per_call_ms = (time.perf_counter() - t0) / 20 * 1000
    assert per_call_ms < 20.0


def test_white_space_in_mount_and_interface_names_becomes_underscore() -> None:
    from agents.system import _mount_name, _name_part

    assert _mount_name("/media/My Disk/") == "/media/My_Disk"
    assert _mount_name("/") == "/"
    assert _name_part("Ethernet 2") == "Ethernet_2"
    assert _name_part("eth0") == "eth0"
