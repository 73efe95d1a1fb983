"""Command-line plumbing shared by every monitor-* command."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import NoReturn

from core.config import ConfigError, broker_endpoints, check_endpoint, check_resolves


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line naming the command, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def fail(prog: str, message: str, code: int = 1) -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def add_broker_args(p: argparse.ArgumentParser, repeatable: bool = False) -> None:
    p.add_argument("--broker", metavar="HOST[:PORT]", action="append" if repeatable else "store",
                   help="broker address; PORT is the base port (ingest), publish and control "
                        "are PORT+1 and PORT+2 (default port 5555)")
    p.add_argument("--control", metavar="EP", action="append" if repeatable else "store",
                   help="control endpoint, e.g. tcp://host:5557"
                   + (" (repeatable, like --broker)" if repeatable else ""))
    p.add_argument("--publish", metavar="EP", help="publish endpoint, e.g. tcp://host:5556")
    p.add_argument("--curve-server-key", metavar="FILE", help="the broker's public key "
                   "(NAME.key): talk CurveZMQ")
    p.add_argument("--curve-secret", metavar="FILE", help="our keypair (NAME.key_secret), "
                   "for a broker with --keys-dir")


def resolve_broker(prog: str, broker: str | None, control: str | None = None,
                   publish: str | None = None) -> dict[str, str] | None:
    """Endpoints from --broker / --control / --publish; None when none was given."""
    try:
        eps = broker_endpoints(broker) if broker else {}
        if control:
            eps["control"] = check_endpoint(control, "--control")
        if publish:
            eps["publish"] = check_endpoint(publish, "--publish")
        for name, ep in eps.items():
            check_resolves(ep, f"--{name}" if name != "ingest" else "--broker")
    except ConfigError as exc:
        fail(prog, str(exc), 2)
    return eps or None


def setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
