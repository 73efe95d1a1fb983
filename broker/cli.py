"""monitor-broker: ingest, alerting, event log, notifications and control in one process."""

from __future__ import annotations

import gc
import signal
import sys
from pathlib import Path
from typing import Any

from broker.config import BrokerSection, load_config
from core.cli import Parser, fail, setup_logging
from core.config import (
    DEFAULT_BASE_PORT,
    ConfigError,
    check_endpoint,
    endpoints_on,
    parse_duration,
    user_data_dir,
)


def parser() -> Parser:
    p = Parser(prog="monitor-broker", description="Receive agents' frames, evaluate alert "
               "rules on every sample, record events, notify, and republish to clients.")
    p.add_argument("--config", metavar="FILE", help="TOML config ([broker], [[rule]], "
                   "[[receiver]], [[route]])")
    p.add_argument("--rules", metavar="FILE", help="alert rules file (default: built-in rules)")
    p.add_argument("--ingest", metavar="EP", help="ingest endpoint (default "
                   "tcp://127.0.0.1:5555, with --keys-dir tcp://*:5555)")
    p.add_argument("--publish", metavar="EP", help="publish endpoint (default port 5556)")
    p.add_argument("--control", metavar="EP", help="control endpoint (default port 5557)")
    p.add_argument("--port", type=int, metavar="BASE", help="base port: ingest BASE, publish "
                   "BASE+1, control BASE+2")
    p.add_argument("--bind", metavar="ADDR", help="address to bind (default 127.0.0.1; "
                   "with --keys-dir, *)")
    p.add_argument("--data-dir", metavar="DIR", help="event log and state (default: per-user "
                   "data dir)")
    p.add_argument("--host-timeout", metavar="DURATION", help="mark a host down after this "
                   "long without a frame (default 15s)")
    p.add_argument("--metrics-port", type=int, metavar="PORT", help="serve Prometheus "
                   "/metrics on this port (9464 is customary; 0 picks a free one)")
    p.add_argument("--metrics-bind", metavar="ADDR", help="address for /metrics (default "
                   "127.0.0.1; another one needs --metrics-auth-file or --insecure)")
    p.add_argument("--metrics-auth-file", metavar="FILE", help="a file holding USER:PASSWORD: "
                   "/metrics then asks for HTTP basic auth")
    p.add_argument("--keys-dir", metavar="DIR", help="CurveZMQ keys and roles ('monitor-ctl "
                   "keys init --dir DIR'); every socket then encrypts and authenticates")
    p.add_argument("--insecure", action="store_true", help="allow binding a non-loopback "
                   "address without keys (anyone who reaches the ports is admin)")
    p.add_argument("--peer", action="append", default=[], metavar="HOST[:BASE]",
                   help="a peer broker to pair with (repeatable; its base port, default 5555)")
    p.add_argument("--name", default="", help="this broker's name among its peers "
                   "(default HOSTNAME:CONTROL_PORT)")
    p.add_argument("--advertise", default="", metavar="EP", help="the control endpoint peers "
                   "use to reach this broker (default: the control endpoint, unless it is a "
                   "wildcard)")
    p.add_argument("--migrate-store", action="store_true", help="apply the event store's "
                   "pending schema migrations (one put off at start-up as too long) with "
                   "progress, then exit; the broker must be stopped")
    p.add_argument("-v", "--verbose", action="count", default=0)
    return p


def migrate_store(data_dir: Path) -> int:
    """--migrate-store: the data dir's lock held (no broker running), migrate, exit 0."""
    from broker.datadir import DataDirLock
    from broker.store.schema import StoreError
    from broker.store.upgrade import migrate_offline

    if not data_dir.is_dir():
        raise ConfigError(f"--data-dir {data_dir}: no such directory")
    lock = DataDirLock(data_dir).acquire()  # DataDirBusy (OSError) names the running broker
    try:
        migrate_offline(data_dir / "events.db",
                        lambda line: print(f"monitor-broker: {line}", flush=True))
    except StoreError as exc:
        fail("monitor-broker", str(exc))
    finally:
        lock.release()
    return 0


def endpoints(args: Any, section: BrokerSection) -> dict[str, str]:
    if args.port is not None and not 1 <= args.port <= 65533:
        raise ConfigError(f"--port {args.port}: out of range 1-65533")
    bind = args.bind or ("*" if args.keys_dir else "127.0.0.1")
    eps = endpoints_on(bind, args.port or DEFAULT_BASE_PORT)
    for name in eps:
        given = getattr(args, name) or (None if args.port else getattr(section, name))
        if given:
            eps[name] = check_endpoint(given, f"--{name}")
    return eps


def check_exposure(args: Any, eps: dict[str, str]) -> None:
    """Without keys, only loopback: anything else needs --insecure (one line, exit 1)."""
    from broker.auth import is_loopback

    exposed = [ep for ep in eps.values() if not is_loopback(ep)]
    if exposed and not args.keys_dir and not args.insecure:
        raise ConfigError(f"refusing to bind {exposed[0]} without keys: anyone who reaches it "
                          "could act as admin; give --keys-dir DIR ('monitor-ctl keys init') "
                          "or --insecure")


def metrics_addr(args: Any, section: BrokerSection, mport: int | None
                 ) -> tuple[tuple[str, int] | None, str]:
    """Where /metrics listens and its USER:PASSWORD ("" for none)."""
    from broker.auth import is_loopback

    if mport is None:
        return None, ""
    host = args.metrics_bind or section.metrics_bind or "127.0.0.1"
    auth_file = args.metrics_auth_file or section.metrics_auth_file
    auth = ""
    if auth_file:
        try:
            auth = Path(auth_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"--metrics-auth-file {auth_file}: {exc.strerror}") from None
        if ":" not in auth or auth.startswith(":"):
            raise ConfigError(f"--metrics-auth-file {auth_file}: expected one line "
                              "USER:PASSWORD")
    if not auth and not args.insecure and not is_loopback(f"tcp://{host}:1"):
        raise ConfigError(f"refusing to serve /metrics on {host} without "
                          "--metrics-auth-file (or --insecure)")
    return (host, mport), auth


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.verbose)
    from broker.system import MonitoringSystem

    try:
        cfg = load_config(args.config)
        section = cfg.broker
        args.keys_dir = args.keys_dir or section.keys_dir or None
        eps = endpoints(args, section)
        data_dir = Path(args.data_dir or section.data_dir or user_data_dir() / "broker")
        if args.migrate_store:
            return migrate_store(data_dir)
        timeout = parse_duration(args.host_timeout, "--host-timeout") if args.host_timeout \
            else section.host_timeout if section.host_timeout is not None else 15.0
        mport = args.metrics_port if args.metrics_port is not None else section.metrics_port
        if mport is not None and not 0 <= mport <= 65535:
            raise ConfigError(f"--metrics-port {mport!r}: expected a port from 0 to 65535")
        maddr, mauth = metrics_addr(args, section, mport)
        check_exposure(args, eps)
        system = MonitoringSystem(data_dir, endpoints=eps, config=cfg.raw, metrics_addr=maddr,
                                  keys_dir=Path(args.keys_dir) if args.keys_dir else None,
                                  insecure=args.insecure, metrics_auth=mauth,
                                  config_path=args.config or "",
                                  rules_path=args.rules or section.rules,
                                  host_timeout=timeout,
                                  name=args.name or cfg.cluster.name,
                                  peers=[*cfg.cluster.peers, *args.peer],
                                  anti_entropy=cfg.cluster.anti_entropy,
                                  advertise=args.advertise or cfg.cluster.advertise,
                                  claim_lease=cfg.cluster.claim_lease,
                                  round_trip_timeout=cfg.cluster.round_trip_timeout,
                                  gc_pacing=True)
        system.start()
    except (ConfigError, OSError) as exc:
        fail("monitor-broker", str(exc))
    except Exception as exc:  # a corrupt store, say: refuse to start, say why
        fail("monitor-broker", f"{exc.__class__.__name__}: {exc}")

    def on_hup(*_: object) -> None:
        try:
            assert system.core is not None
            system.core.post(lambda: _reload(system))
            system.core.post(lambda: (system.reload_keys(), None)[1])
        except Exception as exc:
            print(f"monitor-broker: reload failed: {exc}", file=sys.stderr)

    signal.signal(signal.SIGHUP, on_hup) if hasattr(signal, "SIGHUP") else None
    signal.signal(signal.SIGTERM, lambda *_: system.stop())
    # Everything built at start-up (modules, rules, config) lives as long as the process:
    # keep it out of the collector's scans, which pause every thread (measured below).
    gc.freeze()
    if args.insecure and not args.keys_dir:
        print("monitor-broker: WARNING: --insecure: no keys; anyone who can reach "
              + ", ".join(eps.values()) + " can read everything and act as admin",
              file=sys.stderr, flush=True)
    eps_now = system.endpoints
    print(f"monitor-broker: listening ingest={eps_now['ingest']} publish={eps_now['publish']} "
          f"control={eps_now['control']} data={data_dir}"
          + (f" metrics=http://{maddr[0]}:{system.exporter.port}/metrics"
             if maddr and system.exporter else ""),
          flush=True)
    try:
        system.wait()
    except KeyboardInterrupt:
        pass
    finally:
        system.stop()
    return 0


def _reload(system: Any) -> None:
    try:
        system.reload()
    except Exception as exc:
        print(f"monitor-broker: reload failed, old configuration kept: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
