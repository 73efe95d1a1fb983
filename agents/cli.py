"""monitor-agent: collect this host's figures (or simulate a fleet) and publish them."""

from __future__ import annotations

import re
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
    parse_duration,
)
from core.protocol import MAX_PROC_TOP

AGENT_KEYS = {"broker", "ingest", "host", "interval", "logs", "curve_server_key",
              "curve_secret", "labels", "processes", "control", "fast_rate", "statsd",
              "scrape", "check", "sensors", "containers", "filesystems", "plugins"}
LOG_KEYS = {"files", "journald", "units", "priority"}
FS_KEYS = {"ignore_fstypes", "ignore_mounts"}
PRIORITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
PROCESS_KEYS = {"top", "every"}
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}  # a clean stop: goodbye frames, then exit
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_LABELS = frozenset({"host", "rule", "alertname", "severity", "metric", "kind",
                             "state"})


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
    p.add_argument("--control", metavar="EP", help="the broker's control endpoint, where the "
                   "fast path asks for thresholds (default: the first broker's, its ingest "
                   "port + 2)")
    p.add_argument("--fast-rate", type=float, default=None, metavar="HZ",
                   help="fast path: samples per second of the values rules watch; a crossing "
                        "is published at once (default 10, 0 = off)")
    p.add_argument("--statsd", metavar="HOST:PORT", help="listen for StatsD/DogStatsD on this "
                   "UDP address, e.g. 127.0.0.1:8125 (or [agent.statsd] in the config)")
    p.add_argument("--journald", action="store_true", help="follow the systemd journal "
                   "(or [agent.logs] journald = true, with units and priority)")
    p.add_argument("--label", metavar="K=V", action="append", default=[],
                   help="a host label (repeatable), e.g. --label team=db; added to and "
                        "overriding [agent] labels")
    p.add_argument("--top-processes", type=int, default=None, metavar="N",
                   help="top N processes by CPU and by memory (default 10, 0 = off)")
    p.add_argument("--process-every", default=None, metavar="DURATION",
                   help="seconds between process samples (default 5s)")
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
        check_keys(cfg.get("processes", {}), PROCESS_KEYS, f"{args.config}: [agent.processes]")
        check_keys(cfg.get("filesystems", {}), FS_KEYS, f"{args.config}: [agent.filesystems]")
    eps = [check_endpoint(ep, "--ingest") for ep in args.ingest or cfg.get("ingest", [])]
    controls = [control_for(ep) for ep in eps]
    for spec in args.broker or cfg.get("broker", []):
        eps.append(broker_endpoints(spec)["ingest"])
        controls.append(broker_endpoints(spec)["control"])
    if not eps:
        eps = [broker_endpoints("localhost")["ingest"]]
        controls = [broker_endpoints("localhost")["control"]]
    control = args.control or cfg.get("control")
    control = check_endpoint(control, "--control") if control else next(
        (c for c in controls if c), None)
    fast_rate = args.fast_rate if args.fast_rate is not None else cfg.get("fast_rate", 10.0)
    if isinstance(fast_rate, bool) or not isinstance(fast_rate, int | float) or not (
            fast_rate == 0 or 1 <= fast_rate <= 100):
        raise ConfigError(f"--fast-rate {fast_rate!r}: expected 0 (off) or 1 to 100 per second")
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
    procs = cfg.get("processes", {})
    top = args.top_processes if args.top_processes is not None else procs.get("top", 10)
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_PROC_TOP:
        raise ConfigError(f"--top-processes {top!r}: expected 0 (off) to {MAX_PROC_TOP}")
    every = parse_duration(args.process_every if args.process_every is not None
                           else procs.get("every", 5.0), "--process-every")
    if not 0.1 <= every <= 3600:
        raise ConfigError(f"--process-every {every:g}: expected 0.1s to 1h")
    from agents.sources import parse_sources

    sources = parse_sources(cfg, args.config or "config", args.statsd)
    return {"endpoints": eps, "interval": float(interval), "host": host, "curve": curve,
            "sources": sources, "extras": extras(cfg, args),
            "log_files": args.log_file or cfg.get("logs", {}).get("files", []),
            "labels": labels(cfg.get("labels", {}), args.label, args.config),
            "top_processes": top, "process_every": every, "control": control,
            "fast_rate": float(fast_rate)}


def extras(cfg: dict[str, Any], args: Any) -> Any:
    """Sensors, containers, filesystem ignore lists, journald and plug-ins from [agent]."""
    from agents.extras import Extras

    where = f"{args.config}: [agent]"
    x = Extras()
    for key in ("sensors", "containers"):
        val = cfg.get(key, True)
        if not isinstance(val, bool):
            raise ConfigError(f"{where} {key}: expected true or false, got {val!r}")
        setattr(x, key, val)
    fs = cfg.get("filesystems", {})
    for key in ("ignore_fstypes", "ignore_mounts"):
        if key in fs:
            val = fs[key]
            if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
                raise ConfigError(f"{where} filesystems.{key}: expected a list of globs")
            setattr(x, key, tuple(val))
    plugins = cfg.get("plugins", True)
    if not isinstance(plugins, bool) and not (
            isinstance(plugins, list) and all(isinstance(v, str) for v in plugins)):
        raise ConfigError(f"{where} plugins: expected true, false or a list of names")
    x.plugins = plugins
    logs = cfg.get("logs", {})
    journald = args.journald or logs.get("journald", False)
    if not isinstance(journald, bool):
        raise ConfigError(f"{where}.logs journald: expected true or false, got {journald!r}")
    units = logs.get("units", [])
    if not isinstance(units, list) or not all(isinstance(u, str) and u for u in units):
        raise ConfigError(f"{where}.logs units: expected a list of unit names")
    priority = logs.get("priority")
    if priority is not None and priority not in PRIORITIES:
        raise ConfigError(f"{where}.logs priority: expected one of {', '.join(PRIORITIES)}")
    if journald:
        x.journald = {"units": units, "priority": priority}
    return x


def control_for(ingest: str) -> str | None:
    """The control endpoint of the broker behind ``ingest``, by the port convention
    (ingest BASE, control BASE + 2); None when it cannot be told (ipc, a wildcard port)."""
    m = re.fullmatch(r"tcp://(.+):(\d+)", ingest)
    if not m or int(m.group(2)) + 2 > 65535:
        return None
    return f"tcp://{m.group(1)}:{int(m.group(2)) + 2}"


def labels(table: Any, flags: list[str], config: str | None) -> dict[str, str]:
    """Host labels from ``[agent] labels = {...}`` and ``--label k=v`` (flags win)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{config}: [agent] labels: expected a table like "
                          "{ env = \"prod\", team = \"db\" }")
    items = [(k, v, f"{config}: [agent] labels") for k, v in table.items()]
    for flag in flags:
        k, sep, v = flag.partition("=")
        if not sep:
            raise ConfigError(f"--label {flag!r}: expected NAME=VALUE, e.g. team=db")
        items.append((k.strip(), v.strip(), "--label"))
    out: dict[str, str] = {}
    for k, v, where in items:
        if not isinstance(v, str) or not v or not v.isprintable() or len(v) > 200:
            raise ConfigError(f"{where}: label '{k}' needs a non-empty string value, got {v!r}")
        if not _LABEL_NAME.fullmatch(k) or len(k) > 100:
            raise ConfigError(f"{where}: label name {k!r}: expected letters, digits and _")
        if k in RESERVED_LABELS:
            raise ConfigError(f"{where}: label '{k}' is reserved (set by the broker)")
        out[k] = v
    return out


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
                  incidents=not args.no_incidents, curve=s["curve"], labels=s["labels"],
                  top_processes=s["top_processes"], process_every=s["process_every"],
                  control=s["control"], fast_rate=s["fast_rate"], sources=s["sources"],
                  extras=s["extras"])
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    # The agent's threads start with SIGTERM and SIGINT blocked, so the kernel hands them
    # to the main thread, whose wait they end at once: caught by another thread, a signal
    # waited for the main thread's next look (up to 0.5 s) before anything stopped.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        agent.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
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
