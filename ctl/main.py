"""monitor-ctl: everything the TUI's keys do, from a shell, with --json for scripts."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from core.cli import Parser, add_broker_args, fail, resolve_broker
from core.client import BrokerTimeout, ControlClient, ControlError
from core.config import ConfigError
from core.protocol import OPS, ROLES, ProtocolError


def parser() -> Parser:
    p = Parser(prog="monitor-ctl", description="Query and drive a monitor-broker.")
    add_broker_args(p, repeatable=True)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the broker")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND", parser_class=Parser)

    def cmd(name: str, help: str = "") -> Parser:
        help = help or OPS[name.replace("-", "_")].help  # every op's help lives in core/ops.py
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--json", action="store_true", default=None, dest="json_after",
                        help="machine-readable output")
        return sp

    cmd("status")
    sp = cmd("hosts")
    sp.add_argument("host", nargs="?", default="", help="only this host (its processes listed)")
    sp.add_argument("--process-history", action="store_true",
                    help="add the short history of top processes")
    cmd("alerts")
    sp = cmd("incident")
    sp.add_argument("alert_id")
    sp.add_argument("--episode", default="", help="an earlier episode of the alert")
    sp = cmd("ack")
    sp.add_argument("alert_id")
    sp.add_argument("--comment", default="")
    sp.add_argument("--author", default="", help="who you are, on a keyless broker only "
                    "(recorded as local:NAME); with keys the author is your key's name")
    sp.add_argument("--expires", metavar="DURATION", help="the ack lapses after this long")
    sp.add_argument("--not-sticky", action="store_true", help="clear the ack when severity "
                    "changes")
    sp = cmd("unack")
    sp.add_argument("alert_id")
    sp = cmd("silence")
    sp.add_argument("matchers", nargs="+", metavar="MATCHER")
    sp.add_argument("--for", dest="duration", default="2h", metavar="DURATION")
    sp.add_argument("--comment", default="")
    sp.add_argument("--author", default="", help="who you are, on a keyless broker only "
                    "(recorded as local:NAME); with keys the author is your key's name")
    cmd("silences")
    sp = cmd("unsilence")
    sp.add_argument("silence_id")
    sp = cmd("forget")
    sp.add_argument("host")
    sp = cmd("simulate")
    sp.add_argument("name")
    sp.add_argument("--host", default="")
    cmd("rules")
    cmd("reload")
    sp = cmd("search")
    sp.add_argument("query", nargs="*")
    sp.add_argument("--limit", type=int, default=50)
    sp = cmd("export")
    sp.add_argument("--since", default=None)
    sp.add_argument("--until", default=None)
    sp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    sp.add_argument("query", nargs="*", help="optional search query to narrow the export")
    sp = cmd("history")
    sp.add_argument("host")
    sp.add_argument("metric")
    sp.add_argument("--since", default="1h", help="how far back (duration), default 1h")
    sp.add_argument("--step", choices=("1m", "1h"), default=None,
                    help="rollup step (default 1m; with --plot: 1m up to 2 days, then 1h)")
    sp.add_argument("--plot", action="store_true",
                    help="draw a chart (line avg, band min..max, live samples to now)")
    sp.add_argument("--width", type=int, default=None, help="--plot: columns (terminal's)")
    sp.add_argument("--height", type=int, default=None, help="--plot: lines (about 20)")
    sp = cmd("fleet-at")
    sp.add_argument("ago", metavar="AGO", help="how far back: 2h, 90m, 1h30m (or unix seconds)")
    sp = cmd("push")
    sp.add_argument("host")
    sp.add_argument("metrics", nargs="+", metavar="METRIC=VALUE")
    sp.add_argument("--label", action="append", default=[], metavar="K=V",
                    help="a label for the host (repeatable)")
    cmd("sync")
    cmd("cluster")
    sp = cmd("watch", "the fleet digest once a second (counts, top hosts) and, with --hosts, "
             "those hosts' metrics: subscribes to nothing else (needs --publish or --broker)")
    sp.add_argument("--hosts", default="", help="comma-separated host names whose metrics "
                    "to print as they arrive")
    sp.add_argument("--sort", default="cpu", help="column of the top list: host, "
                    "cpu, mem, disk, rx, tx, load, alerts, age (default cpu)")
    sp.add_argument("--top", type=int, default=20, help="hosts in the top list (default 20)")
    sp.add_argument("--match", default="", help="only hosts whose name contains this")
    sp.add_argument("--count", type=int, default=0, help="stop after this many digests "
                    "(default: until interrupted)")
    sp = cmd("notifications")
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--alert", default="", help="only those that carried this alert id")
    sp = cmd("test-notify")
    sp.add_argument("receiver")
    sp = cmd("keys", "the broker's keys directory: init, generate, list, revoke (runs "
             "locally on the broker host, needs no broker)")
    sp.add_argument("action", choices=("init", "generate", "list", "revoke"))
    sp.add_argument("name", nargs="?", help="the key's name (generate, revoke): who it is; "
                    "an agent key's name is also its host name unless --hosts says otherwise")
    sp.add_argument("--dir", default=os.environ.get("MONITOR_KEYS_DIR"),
                    help="the keys directory (default $MONITOR_KEYS_DIR)")
    sp.add_argument("--role", choices=ROLES, help="generate: what the key may do")
    sp.add_argument("--hosts", help="generate, agent keys: host names (or patterns like "
                    "web-*) it may publish for, comma-separated (default: its name)")
    return p


def request_for(args: Any) -> tuple[str, dict[str, Any]]:
    c = args.cmd
    if c in ("ack",):
        return "ack", {"alert_id": args.alert_id, "comment": args.comment,
                       "author": args.author or _user(), "sticky": not args.not_sticky,
                       **({"expires": args.expires} if args.expires else {})}
    if c == "unack":
        return "unack", {"alert_id": args.alert_id, "author": _user()}
    if c == "silence":
        return "silence", {"matchers": args.matchers, "duration": args.duration,
                           "comment": args.comment, "author": args.author or _user()}
    if c == "unsilence":
        return "unsilence", {"silence_id": args.silence_id, "author": _user()}
    if c == "push":
        return "push", {"host": args.host, "metrics": _pairs(args.metrics, "METRIC=VALUE",
                                                             float),
                        **({"labels": _pairs(args.label, "--label K=V", str)}
                           if args.label else {})}
    if c == "hosts":
        return "hosts", {"host": args.host, "history": args.process_history}
    if c == "simulate":
        return "simulate", {"name": args.name, "host": args.host}
    if c == "forget":
        return "forget", {"host": args.host, "author": _user()}
    if c == "search":
        return "search", {"query": " ".join(args.query), "limit": args.limit}
    if c == "export":
        return "export", {"since": args.since, "until": args.until, "format": args.format,
                          "query": " ".join(args.query)}
    if c == "history":
        from core.config import parse_duration

        now = time.time()
        return "history", {"host": args.host, "metric": args.metric,
                           "since": now - parse_duration(args.since, "--since"), "until": now,
                           "step": args.step or "1m"}
    if c == "fleet-at":
        from core.config import parse_duration

        try:
            ts = float(args.ago)
        except ValueError:
            ts = time.time() - parse_duration(args.ago, "AGO")
        return "fleet_at", {"ts": ts}
    if c in ("notifications",):
        return c, {"limit": args.limit, **({"alert_id": args.alert} if args.alert else {})}
    if c == "incident":
        return c, {"alert_id": args.alert_id,
                   **({"episode": args.episode} if args.episode else {})}
    if c == "test-notify":
        return "test_notify", {"receiver": args.receiver}
    return c.replace("-", "_"), {}


def _pairs(items: list[str], what: str, conv: Any) -> dict[str, Any]:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise ValueError(f"{item!r}: expected {what}")
        try:
            out[k.strip()] = conv(v.strip())
        except ValueError:
            raise ValueError(f"{item!r}: {v.strip()!r} is not a number") from None
    return out


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "monitor-ctl"


def main(argv: list[str] | None = None) -> int:
    """Ctrl+C ends it quietly with 130, as a shell expects (no traceback)."""
    try:
        return run(argv)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def run(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    as_json = args.json or bool(args.json_after)
    if not 0 < args.timeout <= 3600:  # also NaN; ZeroMQ polls forever on a negative timeout
        fail("monitor-ctl", f"--timeout {args.timeout:g}: expected seconds above 0, at most 3600",
             2)
    if args.cmd == "keys":
        return keys(args, as_json)
    from core.keys import client_from_args

    try:
        curve = client_from_args(args.curve_server_key, args.curve_secret)
    except ConfigError as exc:
        fail("monitor-ctl", str(exc), 2)
    if args.cmd == "watch":  # the publish stream of one broker: --publish or --broker
        spec = (args.broker or [None])[0]
        eps = resolve_broker("monitor-ctl", spec, None, args.publish) or \
            resolve_broker("monitor-ctl", "localhost")
        assert eps is not None
        return watch(args, eps, curve, as_json)
    controls: dict[str, str] = {}  # several brokers: a sharded fleet or a pair (ctl/fanout.py)
    for spec in args.broker or []:
        eps = resolve_broker("monitor-ctl", spec)
        assert eps is not None
        controls[spec] = eps["control"]
    for ep in args.control or []:
        eps = resolve_broker("monitor-ctl", None, ep)
        assert eps is not None
        controls[ep] = eps["control"]
    if not controls:
        eps = resolve_broker("monitor-ctl", "localhost")
        assert eps is not None
        controls["localhost"] = eps["control"]
    try:
        op, params = request_for(args)
    except ValueError as exc:
        fail("monitor-ctl", str(exc), 2)
    if args.cmd == "history" and args.plot:
        from ctl.plot import main as plot

        return plot(controls, args, curve)
    if op == "export":
        if as_json:
            params["format"] = "jsonl"  # --json export: one JSON object per line
        if len(controls) > 1:
            fail("monitor-ctl", "export reads one broker's log: give one --broker", 2)
        return export(next(iter(controls.values())), args.timeout, curve, params)
    try:
        clients = {name: ControlClient(ep, timeout=args.timeout, curve=curve)
                   for name, ep in controls.items()}
        try:
            if len(clients) == 1:
                result = next(iter(clients.values())).request(op, **params)
            else:
                from ctl.fanout import ask

                result = ask(clients, op, params)
        finally:
            for client in clients.values():
                client.close()
    except BrokerTimeout as exc:
        fail("monitor-ctl", str(exc))
    except (ControlError, ProtocolError) as exc:
        fail("monitor-ctl", str(exc))
    try:
        if as_json:
            json.dump(result, sys.stdout, indent=2, default=str)
            print()
        else:
            from ctl.format import render

            print(render(args.cmd, result, getattr(args, "metric", "") or ""))
        sys.stdout.flush()
    except BrokenPipeError:  # `monitor-ctl search x | head`: the reader has had enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def watch(args: Any, eps: dict[str, str], curve: Any, as_json: bool) -> int:
    from ctl.watch import run

    if "publish" not in eps:
        fail("monitor-ctl", "watch needs the publish endpoint: --publish EP or --broker", 2)
    if args.top < 1 or args.count < 0:
        fail("monitor-ctl", "--top must be at least 1 and --count at least 0", 2)
    hosts = [h.strip() for h in args.hosts.split(",") if h.strip()]
    try:
        return run(eps["publish"], curve, hosts=hosts, sort=args.sort, top=args.top,
                   match=args.match, count=args.count, timeout=max(args.timeout, 5.0),
                   as_json=as_json)
    except ValueError as exc:
        fail("monitor-ctl", str(exc), 2)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0


def export(control: str, timeout: float, curve: Any, params: dict[str, Any]) -> int:
    """Pull the export page by page (any size, flat memory) and write each as it comes."""
    after: int | None = 0
    try:
        with ControlClient(control, timeout=timeout, curve=curve) as client:
            while after is not None:
                page = client.request("export", **params, after=after)
                sys.stdout.write(page["text"])
                after = page["next"]
        sys.stdout.flush()
    except (BrokerTimeout, ControlError, ProtocolError) as exc:
        fail("monitor-ctl", str(exc))
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def keys(args: Any, as_json: bool) -> int:
    from ctl.keys import run

    try:
        out = run(args.action, args.dir, args.name, args.role, args.hosts)
    except ConfigError as exc:
        fail("monitor-ctl", str(exc), 2)
    print(json.dumps(out["result"], indent=2) if as_json else out["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
