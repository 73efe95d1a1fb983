"""Live configuration: read the config and rules files and apply them whole (``reload``).

``monitor-ctl reload`` and SIGHUP land in ``reload(system)`` on the core thread. Everything
is read and checked first: the config file (top-level and ``[broker]`` keys, the
``external_url``), the rules file and the config's ``[[rule]]`` tables, the ``[[inhibit]]``
tables, the receivers (secrets included) and routes with their templates. Only when all of
it is good does anything change: the engine's rules and inhibitions, then the notifier's
receivers, routes, templates and external URL in one step under its lock. A bad file
raises ConfigError naming the file and what is wrong; the old configuration stays whole,
and a ``rules.reload`` event records either outcome. ``[broker]`` endpoints, data dir and
keys need a restart.
"""

from __future__ import annotations

from typing import Any

from broker.events import make_event
from core.config import ConfigError


def read_config(path: str) -> dict[str, Any]:
    """The config file, checked as at start-up (broker/config.py)."""
    from broker.config import load_config

    return load_config(path).raw


def load_rules(config: dict[str, Any], config_path: str, rules_path: str
               ) -> tuple[list[Any], list[Any]]:
    """(rules, inhibit rules): the rules file (or the built-in set) plus the config's
    [[rule]] and [[inhibit]] tables. With no ``inhibit`` key in either, the shipped
    inhibition (host_down mutes its host) applies."""
    from broker.alerting.inhibit import default_inhibits, parse_inhibits
    from broker.alerting.rules import default_rules, load_rule_file, parse_rules

    where = config_path or "config"
    rules, tables = load_rule_file(rules_path) if rules_path else (default_rules(), None)
    if config.get("rule"):
        rules = [*rules, *parse_rules(config["rule"], where)]
    if tables is None and "inhibit" not in config:
        return rules, default_inhibits()
    inhibits = parse_inhibits(tables, rules_path) if tables is not None else []
    if "inhibit" in config:
        inhibits += parse_inhibits(config["inhibit"], where)
    return rules, inhibits


def notify_config(config: dict[str, Any], config_path: str) -> Any:
    """The parsed receivers and routes, or None when the config has neither."""
    if not config.get("receiver") and not config.get("route"):
        return None
    from broker.notify import parse_notify_config

    return parse_notify_config(config, config_path or "config")


def reload(system: Any) -> dict[str, Any]:
    core = system.core
    assert core is not None
    try:
        config = read_config(system.config_path) if system.config_path else system.config
        rules, inhibits = load_rules(config, system.config_path, system.rules_path)
        notify_cfg = notify_config(config, system.config_path)
    except (ConfigError, ValueError) as exc:
        core.emit(make_event("rules.reload", f"reload failed, old configuration kept: {exc}",
                             ts=system.clock.time(), severity="warning",
                             data={"error": str(exc)}))
        raise ConfigError(str(exc)) from None
    now = system.clock.time()
    system.config = config
    engine = system.engine
    if engine is not None:
        for event in engine.replace_rules(rules, now):
            core.emit(event)
        engine.replace_inhibits(inhibits)
    ext = config.get("broker", {}).get("external_url", "")
    if system.notifier is not None:
        from broker.notify import NotifyConfig

        system.notifier.reconfigure(notify_cfg or NotifyConfig(), ext)
    elif notify_cfg is not None:
        system.notifier = system._make_notifier(notify_cfg)
    counts = {"rules": len(rules) if engine is not None else 0,
              "inhibits": len(inhibits) if engine is not None else 0,
              "receivers": len(notify_cfg.receivers) if notify_cfg else 0,
              "routes": len(notify_cfg.routes) if notify_cfg else 0}
    msg = "reloaded " + ", ".join(f"{v} {k}" for k, v in counts.items())
    core.emit(make_event("rules.reload", msg, ts=now, data=counts))
    return {**counts, "message": msg}
