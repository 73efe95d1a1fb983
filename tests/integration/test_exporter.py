from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.procs import Broker, start_agent, stop_proc, wait_for

pytestmark = pytest.mark.integration


def test_prometheus_metrics_endpoint(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "d", "--metrics-port", "0", "--bind", "127.0.0.1")
    agent = start_agent(broker.endpoints["ingest"], "--host", "scraped", "--interval", "0.2")
    try:
        url = broker.ctl_json("status")["endpoints"]["metrics"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/metrics", url)

        def scrape() -> str:
            with urllib.request.urlopen(url, timeout=5) as resp:
                assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                return resp.read().decode()
        text = wait_for(lambda: 'metric="mem.percent"' in (t := scrape()) and t,
                        timeout=10, what="scraped host")
        assert 'monitor_up{host="scraped"} 1' in text
        assert re.search(r'monitor_value\{host="scraped",metric="mem.percent"\} [\d.]+', text)
        assert "# TYPE monitor_ingest_frames_total counter" in text
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url.replace("/metrics", "/nope"), timeout=5)
        assert err.value.code == 404
        err.value.close()
    finally:
        stop_proc(agent)
        broker.stop()
