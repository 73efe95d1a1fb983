"""monitor-broker: ingest, alerting, event log, notifications and control in one process."""

from __future__ import annotations

import gc
import signal
import sys
from pathlib import Path
from typing import Any

from core.cli import Parser, fail, setup_logging
from core.config import (
    ConfigError,
    check_endpoint,
    check_keys,
    load_toml,
    parse_duration,
    user_data_dir,
)

BROKER_KEYS = {"ingest", "publish", "control", "data_dir", "host_timeout", "rules",
               "external_url", "metrics_port", "curve_secret", "authorized_keys"}
TOP_KEYS = {"broker", "rule", "inhibit", "receiver", "route", "agent"}


def valid_http_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def parser() -> Parser:
    p = Parser(prog="monitor-broker", description="Receive agents' frames, evaluate alert "
               "rules on every sample, record events, notify, and republish to clients.")
    p.add_argument("--config", metavar="FILE", help="TOML config ([broker], [[rule]], "
                   "[[receiver]], [[route]])")
    p.add_argument("--rules", metavar="FILE", help="alert rules file (default: built-in rules)")
    p.add_argument("--ingest", metavar="EP", help="ingest endpoint (default tcp://*:5555)")
    p.add_argument("--publish", metavar="EP", help="publish endpoint (default tcp://*:5556)")
    p.add_argument("--control", metavar="EP", help="control endpoint (default tcp://*:5557)")
    p.add_argument("--port", type=int, metavar="BASE", help="base port: ingest BASE, publish "
                   "BASE+1, control BASE+2")
    p.add_argument("--bind", metavar="ADDR", default="*", help="address to bind (default *)")
    p.add_argument("--data-dir", metavar="DIR", help="event log and state (default: per-user "
                   "data dir)")
    p.add_argument("--host-timeout", metavar="DURATION", help="mark a host down after this "
                   "long without a frame (default 15s)")
    p.add_argument("--metrics-port", type=int, metavar="PORT", help="serve Prometheus "
                   "/metrics on this port (9464 is customary; 0 picks a free one)")
    p.add_argument("--curve-secret", metavar="FILE", help="serve CurveZMQ with this keypair "
                   "(NAME.key_secret from 'monitor-ctl keys generate NAME')")
    p.add_argument("--authorized-keys", metavar="DIR", help="with --curve-secret: let in only "
                   "clients whose public .key file is in DIR (default: any client that knows "
                   "the broker's public key)")
    p.add_argument("-v", "--verbose", action="count", default=0)
    return p


def endpoints(args: Any, section: dict[str, Any]) -> dict[str, str]:
    if args.port is not None and not 1 <= args.port <= 65533:
        raise ConfigError(f"--port {args.port}: out of range 1-65533")
    base = args.port or 5555
    eps = {"ingest": f"tcp://{args.bind}:{base}", "publish": f"tcp://{args.bind}:{base + 1}",
           "control": f"tcp://{args.bind}:{base + 2}"}
    for name in eps:
        given = getattr(args, name) or (None if args.port else section.get(name))
        if given:
            eps[name] = check_endpoint(given, f"--{name}")
    return eps


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.verbose)
    from broker.system import MonitoringSystem

    try:
        config: dict[str, Any] = load_toml(args.config) if args.config else {}
        check_keys(config, TOP_KEYS, args.config or "config")
        section = config.get("broker", {})
        check_keys(section, BROKER_KEYS, f"{args.config}: [broker]")
        eps = endpoints(args, section)
        ext = section.get("external_url", "")
        if not isinstance(ext, str) or (ext and not valid_http_url(ext)):
            raise ConfigError(f"{args.config}: [broker] key 'external_url': expected an http:// "
                              f"or https:// URL (a --web console or a runbook site), got {ext!r}")
        data_dir = Path(args.data_dir or section.get("data_dir") or user_data_dir() / "broker")
        timeout = parse_duration(args.host_timeout or section.get("host_timeout", "15s"),
                                 "--host-timeout")
        mport = args.metrics_port if args.metrics_port is not None \
            else section.get("metrics_port")
        if mport is not None and (not isinstance(mport, int) or not 0 <= mport <= 65535):
            raise ConfigError(f"--metrics-port {mport!r}: expected a port from 0 to 65535")
        maddr = None if mport is None else \
            ("0.0.0.0" if args.bind == "*" else args.bind, mport)
        from core.keys import server_from_args

        curve = server_from_args(args.curve_secret or section.get("curve_secret"),
                                 args.authorized_keys or section.get("authorized_keys"))
        system = MonitoringSystem(data_dir, endpoints=eps, config=config, metrics_addr=maddr,
                                  curve=curve,
                                  config_path=args.config or "",
                                  rules_path=args.rules or section.get("rules", ""),
                                  host_timeout=timeout)
        system.start()
    except (ConfigError, OSError) as exc:
        fail("monitor-broker", str(exc))
    except Exception as exc:  # a corrupt store, say: refuse to start, say why
        fail("monitor-broker", f"{exc.__class__.__name__}: {exc}")

    def on_hup(*_: object) -> None:
        try:
            assert system.core is not None
            system.core.post(lambda: _reload(system))
        except Exception as exc:
            print(f"monitor-broker: reload failed: {exc}", file=sys.stderr)

    signal.signal(signal.SIGHUP, on_hup) if hasattr(signal, "SIGHUP") else None
    signal.signal(signal.SIGTERM, lambda *_: system.stop())
    # Everything built at start-up (modules, rules, config) lives as long as the process:
    # keep it out of the collector's scans, which pause every thread (measured below).
    gc.freeze()
    eps_now = system.endpoints
    print(f"monitor-broker: listening ingest={eps_now['ingest']} publish={eps_now['publish']} "
          f"control={eps_now['control']} data={data_dir}"
          + (f" metrics=http://{maddr[0]}:{system.exporter.port}/metrics" if maddr else ""),
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
