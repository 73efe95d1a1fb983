"""monitor-tui: the terminal console. No broker flags = embedded broker and local agent."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from core.config import ConfigError, broker_endpoints, check_endpoint, user_data_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="monitor-tui",
        description="The operator's console: live hosts, alerts and events from monitor-broker.",
        epilog="Without --broker, --control or --demo it starts a broker and an agent for this "
               "host in-process (data in the per-user data dir).")
    p.add_argument("--broker", action="append", metavar="HOST[:BASE]", default=[],
                   help="broker to follow (repeatable; hosts and alerts are merged)")
    p.add_argument("--control", metavar="EP", help="control endpoint, e.g. tcp://host:5557")
    p.add_argument("--publish", metavar="EP", help="publish endpoint, e.g. tcp://host:5556")
    p.add_argument("--demo", nargs="?", type=int, const=50, metavar="N",
                   help="embedded broker plus a simulated fleet of N hosts (default 50)")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help="data directory of the embedded broker")
    p.add_argument("--web", action="store_true", help="serve the app to a browser (textual-serve)")
    p.add_argument("--host", default="127.0.0.1", help="address for --web (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port for --web (default 8000)")
    p.add_argument("--bell", action="store_true", help="ring the terminal bell on new criticals")
    args = p.parse_args(argv)
    if (args.control is None) != (args.publish is None):
        p.error("--control and --publish go together")
    if args.demo is not None and (args.broker or args.control):
        p.error("--demo starts its own broker: drop --broker/--control")
    if args.demo is not None and not 1 <= args.demo <= 10000:
        p.error("--demo N: N must be between 1 and 10000")
    return args


def brokers_from(args: argparse.Namespace) -> dict[str, tuple[str, str]]:
    brokers: dict[str, tuple[str, str]] = {}
    for spec in args.broker:
        eps = broker_endpoints(spec)
        brokers[spec] = (eps["control"], eps["publish"])
    if args.control:
        brokers[args.control] = (check_endpoint(args.control, "--control"),
                                 check_endpoint(args.publish, "--publish"))
    return brokers


def serve_web(argv: list[str], host: str, port: int) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        print("monitor-tui: --web needs textual-serve (pip install 'monitor[web]')",
              file=sys.stderr)
        return 2
    rest, skip = [], False
    for arg in argv:  # the served command is this one without the --web flags
        if skip:
            skip = False
        elif arg in ("--web",):
            continue
        elif arg in ("--host", "--port"):
            skip = True
        elif not arg.startswith(("--host=", "--port=")):
            rest.append(arg)
    command = shlex.join([sys.executable, "-m", "tui.cli", *rest])
    Server(command, host=host, port=port, title="monitor").serve()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        brokers = brokers_from(args)
    except ConfigError as exc:
        print(f"monitor-tui: {exc}", file=sys.stderr)
        return 2
    if args.web:
        return serve_web(argv, args.host, args.port)
    system: Any = None
    if not brokers:
        try:
            from broker.system import MonitoringSystem
        except ImportError as exc:
            print(f"monitor-tui: embedded broker unavailable ({exc}); use --broker HOST",
                  file=sys.stderr)
            return 2
        data_dir = args.data_dir or user_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True)
        system = MonitoringSystem(data_dir=data_dir, local_agent=args.demo is None,
                                  simulate=args.demo or 0)
        system.start()
        eps = system.endpoints
        brokers = {"embedded": (eps["control"], eps["publish"])}
    from tui.app import MonitorApp
    from tui.client import LiveSource

    try:
        app = MonitorApp(LiveSource(brokers), bell=args.bell)
        app.run()
    finally:
        if system is not None:
            system.stop()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
