"""MonitoringSystem: the broker assembled, plus the in-process agent of the embedded default.

``MonitoringSystem(...).start()`` binds the sockets, opens the store, loads the rules and
starts every component under the broker's supervisor (one_for_one). ``monitor-broker``
runs one of these; ``monitor-tui`` with no broker address runs one with a local agent.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq

from broker import state_saver
from broker.api.control import Control
from broker.bus import EventBus
from broker.cluster.member import ClusterMember
from broker.datadir import DataDirLock
from broker.events import Event, make_event
from broker.ingest.loop import BrokerCore
from broker.state_saver import EngineSaver
from broker.store_watch import StoreWatch
from core.clock import SYSTEM, Clock
from core.supervisor import Supervisor

if TYPE_CHECKING:  # the parts are imported when started: a broker without a store or
    # receivers never loads them (the embedded default starts fast)
    from agents.agent import Agent
    from broker.alerting.engine import AlertEngine
    from broker.api.prometheus import Exporter
    from broker.limits import Limits
    from broker.notify import Notifier
    from broker.notify.feed import NotifyFeed
    from broker.store.store import Store

log = logging.getLogger(__name__)

LOOPBACK = {"ingest": "tcp://127.0.0.1:*", "publish": "tcp://127.0.0.1:*",
            "control": "tcp://127.0.0.1:*"}


class MonitoringSystem:
    def __init__(self, data_dir: Path | str | None = None, *,
                 endpoints: dict[str, str] | None = None, local_agent: bool = False,
                 simulate: int = 0, seed: int = 0, config: dict[str, Any] | None = None,
                 config_path: str = "", rules_path: str = "", clock: Clock = SYSTEM,
                 host_timeout: float = 15.0, interval: float = 1.0,
                 store: bool = True, alerts: bool = True,
                 metrics_addr: tuple[str, int] | None = None, keys_dir: Path | None = None,
                 insecure: bool = False, metrics_auth: str = "",
                 name: str = "", peers: list[str] | None = None,
                 anti_entropy: float = 5.0, advertise: str = "",
                 claim_lease: float = 15.0, round_trip_timeout: float = 2.0,
                 gc_pacing: bool = False) -> None:
        self.data_dir = Path(data_dir) if data_dir else None
        self.requested = dict(endpoints or LOOPBACK)
        self.local_agent = local_agent
        self.simulate = simulate
        self.seed = seed
        self.config = config or {}
        self.config_path = config_path
        self.rules_path = rules_path
        self.clock = clock
        self.host_timeout = host_timeout
        self.interval = interval
        self.want_store = store and self.data_dir is not None
        self.want_alerts = alerts
        self.gc_pacing = gc_pacing  # broker/gcpace.py: the broker process, not tests
        self.metrics_addr = metrics_addr
        self.exporter: Exporter | None = None
        from broker.auth import Gate

        # keys and roles (a keys directory), or keyless; checked before anything binds
        self.gate = Gate(Path(keys_dir) if keys_dir else None, insecure=insecure)
        self.metrics_auth = metrics_auth  # "user:password" for /metrics, or ""
        self.member = ClusterMember(name, list(peers or []), interval=anti_entropy,
                                    advertise=advertise, lease=claim_lease,
                                    round_trip=round_trip_timeout, clock=clock)
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.supervisor = Supervisor("broker", clock=clock, on_restart=self._on_restart,
                                     on_escalate=self._on_escalate)
        self.bus = EventBus(clock, on_restart=self._on_restart)
        # Events the store has committed: the notifier listens here, not on the bus, so
        # a crash never leaves a notification about something the log does not hold.
        self.committed = EventBus(clock, on_restart=self._on_restart)
        self.core: BrokerCore | None = None
        self.control: Control | None = None
        self.store: Store | None = None
        self.engine: AlertEngine | None = None
        self.notifier: Notifier | None = None
        self.agent: Agent | None = None
        self.started = 0.0
        self.escalated: str | None = None
        self.saver: EngineSaver | None = None  # when and what of the alert state is saved
        self.store_stats: dict[str, Any] | None = None  # refreshed off the core thread
        self._store_stats_at = 0.0
        self.store_watch = StoreWatch(self)  # store faults: status, store_failing, the feed
        self.feed: NotifyFeed | None = None  # when notifying with a store
        self.limits: Limits | None = None  # from [broker] at start()
        self._stopped = threading.Event()
        self._lock = DataDirLock(self.data_dir)  # no-op without a data dir

    # ------------------------------------------------------------ lifecycle

    @property
    def endpoints(self) -> dict[str, str]:
        if self.core is None:
            raise RuntimeError("MonitoringSystem.start() has not run yet")
        return dict(self.core.endpoints)

    def start(self) -> MonitoringSystem:
        self.started = self.clock.time()
        from broker.limits import parse_limits

        self.limits = parse_limits(self.config.get("broker", {}),
                                   f"{self.config_path or 'config'}: [broker]")
        return self._lock.holding(self._start)  # one broker per data dir

    def _start(self) -> MonitoringSystem:
        self.engine = self._make_engine() if self.want_alerts else None
        notify_cfg = self._notify_config()  # config errors surface before anything binds
        self.store = self._make_store() if self.want_store else None
        self.gate.start(self.ctx)
        self.core = BrokerCore(self.requested, self.bus, clock=self.clock, engine=self.engine,
                               store=self.store, host_timeout=self.host_timeout, ctx=self.ctx,
                               gate=self.gate, limits=self.limits, probation=True)
        self.control = Control(self.core, self)
        self.core.attach_control(self.control)
        self.notifier = self._make_notifier(notify_cfg) if notify_cfg else None
        if self.metrics_addr is not None:
            from broker.api.prometheus import Exporter

            self.exporter = Exporter(self.core, *self.metrics_addr, auth=self.metrics_auth)
            self.exporter.start()
        self.refresh_store_stats()
        if self.engine is not None and self.store is not None:
            saver = self.saver = EngineSaver(self.engine, self.bus, self.member,
                                             self.limits.state_save if self.limits else 1.0)
            self.core.tick_hooks.append(saver.tick)
            self.core.change_hooks.append(lambda: saver.changed(self.clock.time()))
        feed = self.feed
        if feed is not None:
            self.core.tick_hooks.append(lambda now: feed.retry())
        self.core.tick_hooks.append(self.store_watch.watch)
        if self.gc_pacing:
            from broker.gcpace import GcPacer

            self.core.tick_hooks.append(GcPacer(self.core.state).tick)
        self.core.tick_hooks.append(self._watch_keys)
        if self.engine is not None:
            self.member.start(self.core, self.engine, self.supervisor, self.ctx,
                              self.gate.curve.own_client() if self.gate.curve else None,
                              self.store.load_state("cluster") if self.store else None)
            if self.notifier is not None:
                self.notifier.set_claims(self.member.claims)
        self.supervisor.add("core", self.core.run)
        self.supervisor.add("queries", self.control.run_queries)
        self.bus.start()
        self.committed.start()
        self.supervisor.start()
        self.core.emit(make_event("broker.start", f"broker started on "
                                  f"{self.core.endpoints['ingest']}", ts=self.clock.time(),
                                  data={"endpoints": self.core.endpoints}))
        if self.local_agent or self.simulate:
            self._start_agent()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.agent is not None:
            self.agent.stop()
        if self.exporter is not None:
            self.exporter.stop()
        self.supervisor.stop()
        if self.core is not None:  # the core thread has stopped: emit from here
            self.core.emit_stopped(make_event(
                "broker.stop", f"broker stopping after {self.clock.time() - self.started:.0f}s",
                ts=self.clock.time(), data={"uptime": self.clock.time() - self.started}))
        self.persist_engine()  # the core thread has stopped: safe to read the engine here
        self.bus.drain(2.0)
        self.bus.stop()
        if self.store is not None:
            self.store.flush(5.0)
        self.committed.drain(2.0)
        self.committed.stop()
        if self.store is not None:  # before the notifier: a write that fails while stopping
            self.store.stop()       # hands what waits for a commit to the feed, which pages
        if self.notifier is not None:
            self.notifier.stop()
        if self.core is not None:
            self.core.close()
        self.gate.stop()
        self.ctx.term()
        self._lock.release()

    def __enter__(self) -> MonitoringSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self) -> None:
        """Block until stop() (monitor-broker's main thread sits here, and gives freed
        heap back to the system every 10 s: broker/memtrim.py)."""
        from broker.memtrim import Trimmer

        trimmer = Trimmer()
        while not self._stopped.wait(0.5):
            trimmer.poll(time.monotonic())
            if self.escalated:
                raise SystemExit(f"monitor-broker: giving up: {self.escalated}")

    def _start_agent(self) -> None:
        from agents.agent import Agent

        self.agent = Agent([self.endpoints["ingest"]], interval=self.interval,
                           simulate=self.simulate, seed=self.seed, ctx=self.ctx,
                           curve=self.gate.curve.own_client() if self.gate.curve else None)
        self.agent.start()

    def default_sim_host(self) -> str:
        if self.core and self.core.state.hosts:
            return sorted(self.core.state.hosts)[0]
        return socket.gethostname()

    # ------------------------------------------------------------ components

    def _load_rules(self, config: dict[str, Any] | None = None
                    ) -> tuple[list[Any], list[Any]]:
        from broker.live_config import load_rules

        return load_rules(self.config if config is None else config, self.config_path,
                          self.rules_path)

    def _make_engine(self) -> Any:
        from broker.alerting.engine import AlertEngine

        return AlertEngine(*self._load_rules())

    def _make_store(self) -> Any:
        try:
            from broker.store.store import Store
        except ImportError:
            return None
        assert self.data_dir is not None
        store = Store(self.data_dir / "events.db", clock=self.clock,
                      on_error=self.store_watch.on_error, on_commit=self._on_commit,
                      on_recover=self.store_watch.on_recover)
        store.open()
        store.start()
        self.bus.add_handler("store", self._to_store, blocking=True, maxsize=50_000)
        if self.engine is not None:
            saved = state_saver.load(store)
            if saved:
                self.engine.restore_state(saved)
            from broker.anomaly_seed import seed

            seed(self.engine, store, self.clock.time())
        return store

    def _notify_config(self, config: dict[str, Any] | None = None) -> Any:
        from broker.live_config import notify_config

        return notify_config(self.config if config is None else config, self.config_path)

    def _make_notifier(self, cfg: Any) -> Any:
        from broker.notify import Notifier

        assert self.core is not None
        db = (self.data_dir or Path(".")) / "notify.db"
        notifier = Notifier(cfg, db, clock=self.clock, emit=self.core.emit,
                            external_url=self.config.get("broker", {}).get("external_url", ""))
        notifier.start()
        from broker.notify.feed import KINDS, NotifyFeed

        if self.store is None:
            self.bus.add_handler("notifier", notifier.handle, kinds=KINDS)
            return notifier
        # Committed events normally; the live bus while the store fails (broker/notify/feed.py)
        self.feed = NotifyFeed(notifier.handle, failing=self.store.failing)
        self.bus.add_handler("notify-feed", self.feed.on_bus, kinds=KINDS)
        self.committed.add_handler("notifier", self.feed.on_committed, kinds=KINDS)
        return notifier

    def _to_store(self, item: Any) -> None:
        """The store's bus handler: events, and ``("state", key, obj)`` sent after them."""
        assert self.store is not None
        if isinstance(item, tuple):
            self.store.save_state(item[1], item[2])
        else:
            self.store.put(item)

    def persist_engine(self, baselines: bool = True, hosts: bool = True) -> None:
        """Queue the alert state for the store now (an operator's change, shutdown); core
        thread, or after it stopped. The cadence of the rest: broker/state_saver.py."""
        if self.saver is not None:
            self.saver.save(self.clock.time(), hosts=hosts, baselines=baselines)

    # ------------------------------------------------------------ hooks and ops

    def _on_restart(self, info: dict[str, Any]) -> None:
        if self.core is None:
            return
        verb = "gave up on" if info["escalated"] else "restarted"
        self.core.emit(make_event("restart", f"{info['supervisor']} {verb} {info['child']}: "
                                  f"{info['error']}", ts=self.clock.time(), severity="warning",
                                  data=info))

    def _on_escalate(self, reason: str) -> None:
        self.escalated = reason
        print(f"monitor-broker: {reason}", file=sys.stderr)

    def refresh_store_stats(self, every: float = 2.0) -> None:
        """Query thread: the store's figures for ``status``, which the core thread serves
        without touching SQLite (a search holding the read connection must not stall it)."""
        if self.store is None or time.monotonic() - self._store_stats_at < every:
            return
        self._store_stats_at = time.monotonic()
        try:
            self.store_stats = self.store.stats()
        except Exception as exc:
            self.store_stats = {"error": str(exc)}

    def _on_commit(self, events: list[Event]) -> None:
        for event in events:
            self.committed.emit(event)

    def status(self) -> dict[str, Any]:
        from broker.api.status import status

        return status(self)

    def _watch_keys(self, now: float) -> None:
        """Tick hook: a key added to or moved out of the role folders takes effect within a
        second (``keys revoke`` needs no signal)."""
        if self.gate.changed():
            self.reload_keys()

    def reload_keys(self) -> dict[str, Any]:
        """Re-read the keys directory (core thread; SIGHUP too), cutting revoked sessions."""
        assert self.core is not None
        return self.gate.reload_into(self.core, self.clock.time())

    def reload(self) -> dict[str, Any]:
        """Re-read the config and rules files and apply them whole (core thread); a bad file
        raises ConfigError and changes nothing (broker/live_config.py)."""
        from broker.live_config import reload

        return reload(self)

    def rules_summary(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.engine.rules] if self.engine is not None else []

    # ------------------------------------------------------------ cluster

    @property
    def cluster(self) -> Any:
        return self.member.node

    def connect(self, peer: str) -> str:
        """Pair with the broker at ``HOST[:BASE]``; returns its control endpoint."""
        return self.member.connect(peer)

    def sync(self) -> dict[str, Any]:
        """A full exchange with every peer now; what differed, entry by entry."""
        return self.member.sync()

    def cluster_status(self) -> dict[str, Any]:
        return self.member.status()

    def simulate_alert(self, name: str, host: str | None = None) -> list[str]:
        """Inject a simulated alert through the whole path; returns the alert ids."""
        assert self.core is not None and self.control is not None
        control = self.control
        result = self.core.call(lambda: control.simulate({"name": name, "host": host or ""}))
        return list(result["alert_ids"])
