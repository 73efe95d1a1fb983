"""Containers (a real cgroup v2 with a real CPU burner in it), sensors where the platform
has them, filesystems with the pseudo-fs ignore list, plug-in collectors from a real entry
point, and the journald switch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from agents.cgroups import CgroupCollector, cgroup2_root
from agents.sensors import SensorsCollector
from agents.system import PSEUDO_FSTYPES, real_mounts
from tests.procs import ENV, Broker, command, stop_proc, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def cgroup() -> Path:
    root = cgroup2_root()
    if root is None or not os.access(root, os.W_OK):
        pytest.skip("no writable cgroup v2 hierarchy here (needs root)")
    path = root / f"monitor-test-{uuid.uuid4().hex[:8]}.scope"
    path.mkdir()
    yield path
    for pid in (path / "cgroup.procs").read_text().split():  # move leftovers out first
        try:
            (root / "cgroup.procs").write_text(pid)
        except OSError:
            pass
    path.rmdir()


@pytest.mark.serial  # the burner must get CPU
def test_a_burner_in_a_cgroup_shows_its_cpu(cgroup: Path) -> None:
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        (cgroup / "cgroup.procs").write_text(str(burner.pid))
        c = CgroupCollector(cgroup.parent)
        c.collect(time.time())

        def busy() -> dict[str, float] | None:
            m = c.collect(time.time())
            return m if m.get(f"cgroup.{cgroup.name}.cpu_percent", 0) > 20 else None
        m = wait_for(busy, timeout=10, what="the cgroup's CPU")
        assert m[f"cgroup.{cgroup.name}.procs"] == 1.0
        assert m[f"cgroup.{cgroup.name}.cpu_percent"] <= 100.0 * (os.cpu_count() or 1) + 5
    finally:
        burner.kill()
        burner.wait()


def test_sensors_where_the_platform_has_them() -> None:
    temps = getattr(psutil, "sensors_temperatures", lambda: {})() or {}
    fans = getattr(psutil, "sensors_fans", lambda: {})() or {}
    m = SensorsCollector().collect(time.time())
    if not temps and not fans:
        assert m == {}
        pytest.skip("this platform reports no temperature or fan sensors")
    assert any(k.startswith(("temp.", "fan.")) for k in m)
    assert all(k.count(".") == 2 for k in m)


def test_pseudo_filesystems_are_ignored_on_this_host() -> None:
    everything = real_mounts((), ())
    kept = real_mounts()
    assert set(kept) <= set(everything)
    for p in psutil.disk_partitions(all=True):
        if p.fstype in PSEUDO_FSTYPES:
            assert p.mountpoint not in kept, p
    assert "/" in kept or os.name != "posix"


PLUGIN = '''
from agents.collector import Collector

class Queue(Collector):
    name = "queue"
    def collect(self, now):
        return {"plug.queue.depth": 7.0}

class Boom(Collector):
    name = "boom"
    def collect(self, now):
        raise RuntimeError("plug-in bug")
'''


def test_plugin_collectors_from_entry_points_are_loaded_and_supervised(
        tmp_path: Path, broker: Broker) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "monitor_testplug.py").write_text(PLUGIN)
    dist = site / "monitor_testplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: monitor-testplug\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[monitor.collectors]\nqueue = monitor_testplug:Queue\nboom = monitor_testplug:Boom\n"
        "broken = monitor_testplug_missing:Nope\n")
    env = {**ENV, "PYTHONPATH": f"{site}{os.pathsep}{ENV.get('PYTHONPATH', '')}"}
    agent = subprocess.Popen([*command("monitor-agent"), "--ingest", broker.endpoints["ingest"],
                              "--host", "plug", "--interval", "0.2"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: [h for h in broker.ctl_json("hosts", "plug")
                          if h["metrics"].get("plug.queue.depth") == 7.0], timeout=20,
                 what="the plug-in's metric")
        events = wait_for(lambda: broker.ctl_json("search", "plugin boom restarted"),
                          timeout=20, what="the failing plug-in's restart event")
        assert "plug-in bug" in events[0]["message"]
        broken = wait_for(lambda: broker.ctl_json("search", "broken cannot be loaded"),
                          timeout=10, what="the broken entry point's event")
        assert "monitor_testplug_missing" in broken[0]["message"]
        assert agent.poll() is None  # the agent and its system collector carry on
        seq = broker.ctl_json("hosts", "plug")[0]["seq"]
        wait_for(lambda: broker.ctl_json("hosts", "plug")[0]["seq"] > seq + 3, timeout=10,
                 what="frames still flowing")
    finally:
        stop_proc(agent)


FAKE_JOURNALCTL = '''#!/usr/bin/env python3
import json, signal, sys, time
args = " ".join(sys.argv[1:])
print(json.dumps({"MESSAGE": "fake journal " + args, "PRIORITY": "3",
                  "SYSLOG_IDENTIFIER": "sshd", "__REALTIME_TIMESTAMP": str(int(time.time() * 1e6))}),
      flush=True)
signal.pause()  # a journal that follows: stays until the agent stops it
'''


def test_journald_switch_runs_journalctl_with_units_and_priority(tmp_path: Path,
                                                                 broker: Broker) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "journalctl"
    fake.write_text(FAKE_JOURNALCTL)
    fake.chmod(0o755)
    conf = tmp_path / "agent.toml"
    conf.write_text('[agent.logs]\njournald = true\nunits = ["ssh.service"]\n'
                    'priority = "warning"\n')
    env = {**ENV, "PATH": f"{bindir}{os.pathsep}{ENV['PATH']}"}
    agent = subprocess.Popen([*command("monitor-agent"), "--ingest", broker.endpoints["ingest"],
                              "--host", "jd", "--config", str(conf)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        found = wait_for(lambda: broker.ctl_json("search", "fake journal"), timeout=20,
                         what="the journal line")
        msg = found[0]["message"]
        assert "-u ssh.service" in msg and "-p warning" in msg and "-f" in msg
        assert found[0]["host"] == "jd" and found[0]["data"]["source"] == "journald:sshd"
    finally:
        stop_proc(agent)


@pytest.mark.skipif(not os.path.exists("/run/systemd/journal/socket")
                    or shutil.which("systemd-cat") is None,
                    reason="no running journald here (/run/systemd/journal/socket)")
def test_real_journald_line_reaches_the_broker(broker: Broker) -> None:
    agent = subprocess.Popen([*command("monitor-agent"), "--ingest", broker.endpoints["ingest"],
                              "--host", "jr", "--journald"], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    tag = f"monitor-test-{uuid.uuid4().hex[:8]}"
    try:
        def sent_and_seen() -> list:  # type: ignore[type-arg]
            subprocess.run(["systemd-cat", "-t", tag], input=b"hello journal\n", check=True)
            return broker.ctl_json("search", tag)
        wait_for(sent_and_seen, timeout=20, what="the journald line")
    finally:
        stop_proc(agent)
