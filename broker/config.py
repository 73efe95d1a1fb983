"""The broker's config file, loaded once and typed: used at start-up and on every reload.

``load_config(path)`` reads the TOML file, refuses unknown keys with the file and section
named, and returns a ``BrokerConfig``: the typed ``[broker]`` section plus the raw tables of
the other sections, which their owners parse (``[[rule]]`` by broker/alerting/rules.py,
``[[inhibit]]`` by broker/alerting/inhibit.py,
``[[receiver]]`` and ``[[route]]`` by broker/notify/config.py). ``monitor-broker`` builds
the system from it; ``MonitoringSystem.reload`` calls it again, so a reload sees exactly
what a start would, and a bad file raises ConfigError before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broker.limits import KEYS as LIMIT_KEYS
from core.config import ConfigError, check_keys, load_toml, parse_duration

BROKER_KEYS = {"ingest", "publish", "control", "data_dir", "host_timeout", "rules",
               "external_url", "metrics_port", "metrics_bind", "metrics_auth_file",
               "keys_dir"} | LIMIT_KEYS  # the caps: broker/limits.py
TOP_KEYS = {"broker", "rule", "inhibit", "receiver", "route", "agent", "cluster"}
CLUSTER_KEYS = {"name", "peers", "anti_entropy", "advertise", "claim_lease", "round_trip_timeout"}


@dataclass
class BrokerSection:
    """``[broker]``: every key optional; flags given on the command line win."""

    ingest: str = ""
    publish: str = ""
    control: str = ""
    data_dir: str = ""
    host_timeout: float | None = None
    rules: str = ""
    external_url: str = ""
    metrics_port: int | None = None
    metrics_bind: str = ""
    metrics_auth_file: str = ""
    keys_dir: str = ""


@dataclass
class ClusterSection:
    """``[cluster]``: this broker's name among its peers, the peers, the repair interval."""

    name: str = ""
    peers: list[str] = field(default_factory=list)
    anti_entropy: float = 5.0
    advertise: str = ""  # the control endpoint peers should use to reach this broker
    claim_lease: float = 15.0  # a notification claim's holder must renew within this
    # how long a claim waits for its push to reach the peers (and their replies to come
    # back) before it is sent anyway: raise it for a pair far apart (broker/cluster/claims.py)
    round_trip_timeout: float = 2.0


@dataclass
class BrokerConfig:
    path: str = ""
    broker: BrokerSection = field(default_factory=BrokerSection)
    cluster: ClusterSection = field(default_factory=ClusterSection)
    raw: dict[str, Any] = field(default_factory=dict)  # the whole file, for section owners

    @property
    def where(self) -> str:
        return self.path or "config"


def valid_http_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def load_config(path: str | Path | None) -> BrokerConfig:
    """The config at ``path`` (an empty one for None); ConfigError names file and key."""
    if not path:
        return BrokerConfig()
    return parse_config(load_toml(path), str(path))


def parse_config(raw: dict[str, Any], where: str = "config") -> BrokerConfig:
    check_keys(raw, TOP_KEYS, where)
    section = raw.get("broker", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [broker] must be a table")
    check_keys(section, BROKER_KEYS, f"{where}: [broker]")
    b = BrokerSection()
    for key in ("ingest", "publish", "control", "data_dir", "rules", "external_url",
                "metrics_bind", "metrics_auth_file", "keys_dir"):
        val = section.get(key, "")
        if not isinstance(val, str):
            raise ConfigError(f"{where}: [broker] key '{key}': expected a string, "
                              f"got {type(val).__name__}")
        setattr(b, key, val)
    if b.external_url and not valid_http_url(b.external_url):
        raise ConfigError(f"{where}: [broker] key 'external_url': expected an http:// or "
                          f"https:// URL (a --web console or a runbook site), got "
                          f"{b.external_url!r}")
    if "host_timeout" in section:
        b.host_timeout = parse_duration(section["host_timeout"],
                                        f"{where}: [broker] key 'host_timeout'")
    port = section.get("metrics_port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                             or not 0 <= port <= 65535):
        raise ConfigError(f"{where}: [broker] key 'metrics_port': expected a port from 0 to "
                          f"65535, got {port!r}")
    b.metrics_port = port
    return BrokerConfig(path=where if where != "config" else "", broker=b,
                        cluster=_cluster(raw.get("cluster", {}), where), raw=raw)


def _cluster(section: Any, where: str) -> ClusterSection:
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [cluster] must be a table")
    check_keys(section, CLUSTER_KEYS, f"{where}: [cluster]")
    c = ClusterSection()
    name = section.get("name", "")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: [cluster] key 'name': expected a string")
    c.name = name
    advertise = section.get("advertise", "")
    if not isinstance(advertise, str):
        raise ConfigError(f"{where}: [cluster] key 'advertise': expected an endpoint string")
    c.advertise = advertise
    peers = section.get("peers", [])
    if not isinstance(peers, list) or not all(isinstance(p, str) and p for p in peers):
        raise ConfigError(f"{where}: [cluster] key 'peers': expected a list of "
                          "\"HOST[:BASE]\" strings")
    c.peers = list(peers)
    if "claim_lease" in section:
        c.claim_lease = parse_duration(section["claim_lease"],
                                       f"{where}: [cluster] key 'claim_lease'")
        if c.claim_lease <= 0:
            raise ConfigError(f"{where}: [cluster] key 'claim_lease': must be above zero")
    if "anti_entropy" in section:
        c.anti_entropy = parse_duration(section["anti_entropy"],
                                        f"{where}: [cluster] key 'anti_entropy'")
        if c.anti_entropy <= 0:
            raise ConfigError(f"{where}: [cluster] key 'anti_entropy': must be above zero")
    if "round_trip_timeout" in section:
        key = f"{where}: [cluster] key 'round_trip_timeout'"
        c.round_trip_timeout = parse_duration(section["round_trip_timeout"], key)
        if c.round_trip_timeout <= 0:
            raise ConfigError(f"{key}: must be above zero")
        if c.round_trip_timeout >= c.claim_lease:
            raise ConfigError(f"{key} ({c.round_trip_timeout:g}s): must be below 'claim_lease' "
                              f"({c.claim_lease:g}s), or a claim runs out while it waits")
    return c
