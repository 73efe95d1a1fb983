"""monitor-tui: the terminal console. No broker flags = embedded broker and local agent."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, NoReturn

from core.config import (
    ConfigError,
    broker_endpoints,
    check_endpoint,
    check_resolves,
    user_data_dir,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line on stderr, not the whole usage block."""
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = _Parser(
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
    p.add_argument("--host", default="127.0.0.1", help="address for --web (default 127.0.0.1, "
                   "this machine only)")
    p.add_argument("--web-token-file", metavar="FILE", help="the --web login token (default "
                   "$MONITOR_WEB_TOKEN, else one is generated and printed)")
    p.add_argument("--port", type=int, default=8000, help="port for --web (default 8000)")
    p.add_argument("--curve-server-key", metavar="FILE", help="the broker's public key "
                   "(NAME.key): talk CurveZMQ (see docs/security.md)")
    p.add_argument("--curve-secret", metavar="FILE", help="our keypair (NAME.key_secret), "
                   "for a broker with --keys-dir")
    p.add_argument("--bell", action="store_true", help="ring the terminal bell on new criticals")
    p.add_argument("--theme", metavar="NAME",
                   help="colour theme, e.g. textual-light (default textual-dark; the command "
                        "palette lists them all)")
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
    for control, _ in brokers.values():
        check_resolves(control, "--broker")
    return brokers


def serve_web(args: argparse.Namespace, brokers: dict[str, tuple[str, str]]) -> int:
    """Serve the console to browsers: each session runs ``monitor-tui`` on the same brokers."""
    try:
        from tui.web import TokenServer, load_token
    except ImportError:
        print("monitor-tui: --web needs textual-serve (pip install 'monitor[web]')",
              file=sys.stderr)
        return 2
    served = [sys.executable, "-m", "tui.cli"]
    for name, (control, publish) in brokers.items():
        served += (["--broker", name] if name in args.broker
                   else ["--control", control, "--publish", publish])
    if args.curve_server_key:
        served += ["--curve-server-key", args.curve_server_key]
    if args.curve_secret:
        served += ["--curve-secret", args.curve_secret]
    if args.bell:
        served.append("--bell")
    if args.theme:
        served += ["--theme", args.theme]
    token, generated = load_token(args.web_token_file)
    where = "this machine only" if args.host in ("127.0.0.1", "localhost", "::1") else \
        "reachable from the network: put it behind TLS"
    print(f"monitor-tui: serving on http://{args.host}:{args.port} ({where}); log in with "
          + (f"the token {token}: http://{args.host}:{args.port}/?token={token}" if generated
             else "the token given"), file=sys.stderr, flush=True)
    TokenServer(shlex.join(served), host=args.host, port=args.port, token=token).serve()
    return 0


def data_dir_of(args: argparse.Namespace) -> Path:
    """--data-dir, else the per-user data dir; a demo keeps its fake fleet in a folder of its
    own, so it never haunts the next ``make run``."""
    if args.data_dir is not None:
        return Path(args.data_dir)
    return user_data_dir() / "demo" if args.demo is not None else user_data_dir()


def start_embedded(args: argparse.Namespace) -> tuple[Any, dict[str, tuple[str, str]]]:
    """The embedded default (or --demo): a MonitoringSystem in this process, on loopback."""
    from broker.system import MonitoringSystem

    data_dir = data_dir_of(args)
    data_dir.mkdir(parents=True, exist_ok=True)
    system = MonitoringSystem(data_dir=data_dir, local_agent=args.demo is None,
                              simulate=args.demo or 0)
    system.start()
    eps = system.endpoints
    return system, {"embedded": (eps["control"], eps["publish"])}


def check_theme(name: str) -> None:
    from textual.theme import BUILTIN_THEMES

    if name not in BUILTIN_THEMES:
        raise ConfigError(f"--theme {name!r}: unknown theme (one of "
                          f"{', '.join(sorted(BUILTIN_THEMES))})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    system: Any = None
    try:
        if args.theme:
            check_theme(args.theme)
        brokers = brokers_from(args)
        from core.keys import client_from_args

        curve = client_from_args(args.curve_server_key, args.curve_secret)
        if brokers:
            from tui.sources.live import probe

            unreachable = [probe(control, curve=curve) for control, _ in brokers.values()]
            if all(unreachable):
                print(f"monitor-tui: {unreachable[0]}", file=sys.stderr)
                return 1
        else:
            system, brokers = start_embedded(args)
        if args.web:
            return serve_web(args, brokers)
        from tui import prefs
        from tui.app import MonitorApp
        from tui.sources.live import LiveSource

        app = MonitorApp(LiveSource(brokers, curve=curve), bell=args.bell, theme=args.theme,
                         state_file=prefs.default_path())
        app.run()
        return app.return_code or 0
    except ConfigError as exc:
        print(f"monitor-tui: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # data dir not writable, port in use...
        print(f"monitor-tui: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # ctrl+c before the app took the terminal (the probe)
        print(file=sys.stderr)
        return 130
    finally:
        if system is not None:
            system.stop()


if __name__ == "__main__":
    sys.exit(main())
