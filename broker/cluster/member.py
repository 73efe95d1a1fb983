"""The cluster as MonitoringSystem sees it: one object to start, connect, sync and show.

Wires the core-thread ``ClusterNode`` to the core loop (it hears every event and every
tick) and runs the peer-link thread under the broker's supervisor.
"""

from __future__ import annotations

import socket
from typing import Any

import zmq

from broker.alerting.engine import AlertEngine
from broker.cluster.claims import LEASE_S, ROUND_TRIP_TIMEOUT_S, ClaimBook
from broker.cluster.links import PeerLinks
from broker.cluster.node import ClusterNode
from broker.ingest.loop import BrokerCore
from core.clock import SYSTEM, Clock
from core.config import ConfigError, broker_endpoints, check_endpoint
from core.sockets import Curve
from core.supervisor import Supervisor


def peer_endpoint(spec: str) -> str:
    """``HOST[:BASE]`` (the peer's base port: its control socket is BASE+2) or a full
    ``tcp://HOST:PORT`` of its control socket; ConfigError naming the spec otherwise."""
    if "://" in spec:
        return check_endpoint(spec, "--peer")
    try:
        return broker_endpoints(spec)["control"]
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--broker", "--peer")) from None


def forget_host(core: BrokerCore, engine: AlertEngine, host: str, value: dict[str, Any],
                why: str) -> bool:
    """A peer's forget, here (core thread), unless the host reported after it (then it is
    back, on both). Samples this broker received since its start are compared by their own
    timestamps (the same on both brokers); a host known only from the saved alert state
    (a restart) by when the engine last heard of it against when the forget was made."""
    hs = core.state.hosts.get(host)
    if hs is not None:
        seen = value.get("last_seen")
        if isinstance(seen, int | float) and hs.last_seen > seen:
            return False
    elif engine.knows(host):
        last = engine.hosts[host].last_seen
        if last is not None and last > float(value.get("at") or 0.0):
            return False
    else:
        return False
    core.forget(host, why)
    return True


class ClusterMember:
    def __init__(self, name: str, peers: list[str], *, interval: float = 5.0,
                 advertise: str = "", lease: float = LEASE_S,
                 round_trip: float = ROUND_TRIP_TIMEOUT_S, clock: Clock = SYSTEM) -> None:
        self.name = name
        self.advertise = check_endpoint(advertise, "--advertise") if advertise else ""
        self.peers = [peer_endpoint(p) for p in peers]
        self.interval = interval
        self.clock = clock
        self.lease = lease
        self.round_trip = round_trip  # [cluster] round_trip_timeout, for the claim book
        self.node: ClusterNode | None = None
        self.links: PeerLinks | None = None
        self.claims: ClaimBook | None = None
        self.core: BrokerCore | None = None

    def start(self, core: BrokerCore, engine: AlertEngine, supervisor: Supervisor,
              ctx: zmq.Context[Any], curve: Curve | None, saved: Any) -> None:
        control_port = core.endpoints["control"].rsplit(":", 1)[-1]
        self.name = self.name or f"{socket.gethostname()}:{control_port}"
        self.core = core
        self.node = ClusterNode(self.name, engine, core.emit, self.clock)
        if saved:
            self.node.replica.load(saved)
        core.listeners.append(self.node.on_event)
        self.node.forget_host = lambda host, v, why: forget_host(core, engine, host, v, why)
        engine.book.shared_episode = self.node.shared_episode
        core.tick_hooks.append(self.node.tick)
        control = core.endpoints["control"]
        advertise = self.advertise or (
            "" if any(w in control for w in ("://*", "://0.0.0.0", "://[::]")) else control)
        self.links = PeerLinks(self.node, core, ctx=ctx, curve=curve, interval=self.interval,
                               advertise=advertise, clock=self.clock)
        if self.peers:
            self.node.pair()  # before the core runs: no other thread touches it yet
        for endpoint in self.peers:
            self.links.add(endpoint)
        self.claims = ClaimBook(self.node, core, self.links, lease=self.lease,
                                round_trip=self.round_trip, clock=self.clock)
        supervisor.add("cluster", self.links.run)

    def connect(self, spec: str) -> str:
        endpoint = peer_endpoint(spec)
        if self.links is None:
            raise RuntimeError("the broker has not started, or alerting is off")
        if endpoint not in self.peers:
            self.peers.append(endpoint)
        node = self.node
        assert node is not None and self.core is not None
        self.core.call(node.pair)
        self.links.add(endpoint)
        return endpoint

    def pair_back(self, endpoint: Any) -> None:
        """A peer that reached us and told us its control endpoint: reach it too."""
        if not isinstance(endpoint, str) or not endpoint.startswith("tcp://") or \
                self.links is None or endpoint == self.links.advertise:
            return
        if self.node is not None:
            self.node.pair()  # a control op: on the core thread
        if endpoint not in self.peers:
            self.peers.append(endpoint)
        elif any(p["endpoint"] == endpoint and p["state"] == "up" for p in self.links.status()):
            return
        self.links.add(endpoint)  # new, or known but down: the link thread asks it now

    def sync(self) -> dict[str, Any]:
        if self.links is None or not self.peers:
            return {"node": self.name, "peers": [], "differences": 0,
                    "message": "no peer brokers: nothing to synchronise "
                               "(--peer HOST[:BASE] or MonitoringSystem.connect)"}
        return self.links.sync()

    def status(self) -> dict[str, Any]:
        node = self.node.summary() if self.node else {"name": self.name}
        claims = self.claims
        return {**node, "peers": self.links.status() if self.links else [],
                "anti_entropy_s": self.interval, "claim_lease_s": self.lease,
                "round_trip_timeout_s": claims.round_trip if claims else self.round_trip,
                "claims": claims.stats() if claims else {}}

    def dump(self) -> Any:
        return self.node.replica.dump() if self.node else None
