"""monitor-agent: collect this host's figures (or simulate a fleet) and publish them."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from core import protocol
from core.cli import Parser, fail, setup_logging
from core.config import (
    ConfigError,
    broker_endpoints,
    check_endpoint,
    check_keys,
    check_resolves,
    load_toml,
)

AGENT_KEYS = {"broker", "ingest", "host", "interval", "logs", "curve_server_key",
              "curve_secret"}
LOG_KEYS = {"files"}


def parser() -> Parser:
    p = Parser(prog="monitor-agent", description="Publish this host's CPU, memory, disk, "
               "network, load and process figures, and its log lines, to one or more brokers.")
    p.add_argument("--broker", metavar="HOST[:PORT]", action="append", default=[],
                   help="broker to publish to (repeatable: one agent can feed a broker pair); "
                        "PORT is the broker's base port, default 5555")
    p.add_argument("--ingest", metavar="EP", action="append", default=[],
                   help="broker ingest endpoint, e.g. tcp://10.0.0.5:5555 (repeatable)")
    p.add_argument("--host", metavar="NAME", help="host name to report (default: this host's)")
    p.add_argument("--interval", type=float, default=None, metavar="SECONDS",
                   help="seconds between samples (default 1)")
    p.add_argument("--simulate", type=int, default=0, metavar="N",
                   help="publish N simulated hosts instead of this one (demos, benchmarks)")
    p.add_argument("--seed", type=int, default=0, help="simulator seed")
    p.add_argument("--no-incidents", action="store_true", help="simulator: no scripted "
                   "incidents")
    p.add_argument("--log-file", metavar="PATH", action="append", default=[],
                   help="follow a log file like tail -F (repeatable, globs allowed)")
    p.add_argument("--config", metavar="FILE", help="TOML config with an [agent] section")
    p.add_argument("--curve-server-key", metavar="FILE", help="the broker's public key "
                   "(NAME.key): encrypt with CurveZMQ")
    p.add_argument("--curve-secret", metavar="FILE", help="this agent's keypair "
                   "(NAME.key_secret), for a broker with --keys-dir")
    p.add_argument("-v", "--verbose", action="count", default=0)
    return p


def settings(args: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    if args.config:
        whole = load_toml(args.config)
        cfg = whole.get("agent", {})
        check_keys(cfg, AGENT_KEYS, f"{args.config}: [agent]")
        check_keys(cfg.get("logs", {}), LOG_KEYS, f"{args.config}: [agent.logs]")
    eps = [check_endpoint(ep, "--ingest") for ep in args.ingest or cfg.get("ingest", [])]
    for spec in args.broker or cfg.get("broker", []):
        eps.append(broker_endpoints(spec)["ingest"])
    if not eps:
        eps = [broker_endpoints("localhost")["ingest"]]
    for ep in eps:
        check_resolves(ep, "--broker")
    interval = args.interval if args.interval is not None else cfg.get("interval", 1.0)
    if not isinstance(interval, int | float) or not 0.05 <= interval <= 3600:
        raise ConfigError(f"--interval {interval!r}: expected seconds from 0.05 to 3600")
    if not 0 <= args.simulate <= 100_000:
        raise ConfigError(f"--simulate {args.simulate}: expected 0 to 100000 hosts")
    host = args.host or cfg.get("host")
    if host is not None and (err := protocol.host_name_error(host)):
        raise ConfigError(f"--host: {err}")
    from core.keys import client_from_args

    curve = client_from_args(args.curve_server_key or cfg.get("curve_server_key"),
                             args.curve_secret or cfg.get("curve_secret"))
    return {"endpoints": eps, "interval": float(interval), "host": host, "curve": curve,
            "log_files": args.log_file or cfg.get("logs", {}).get("files", [])}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        s = settings(args)
    except ConfigError as exc:
        fail("monitor-agent", str(exc), 2)
    from agents.agent import Agent

    agent = Agent(s["endpoints"], host=s["host"], interval=s["interval"],
                  simulate=args.simulate, seed=args.seed, log_files=s["log_files"],
                  incidents=not args.no_incidents, curve=s["curve"])
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    agent.start()
    what = f"{args.simulate} simulated hosts" if args.simulate else agent.host
    print(f"monitor-agent: publishing {what} every {s['interval']:g}s to "
          f"{', '.join(s['endpoints'])}", flush=True)
    try:
        while not done.wait(0.5):
            if agent.supervisor.escalated:
                fail("monitor-agent", f"giving up: {agent.supervisor.escalated}")
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
