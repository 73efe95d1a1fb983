"""``monitor-ctl keys init|generate|list|revoke``: the keys directory, run on the broker host.

Each action returns the result for ``--json`` and the text for people; the text of ``init``
and ``generate`` holds the lines to paste on agents and consoles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core import keydir
from core.config import ConfigError


def run(action: str, directory: str | None, name: str | None, role: str | None,
        hosts: str | None) -> dict[str, Any]:
    if not directory:
        raise ConfigError(f"keys {action}: give --dir DIR (or set MONITOR_KEYS_DIR)")
    d = Path(directory)
    if action == "init":
        return _init(d)
    if action == "list":
        rows = keydir.entries(d)
        text = "\n".join(f"{r['name']:<24} {'REVOKED' if r['revoked'] else r['role']:<9} "
                         + ",".join(r["hosts"]) for r in rows)  # type: ignore[arg-type]
        return {"result": rows, "text": text or "(no keys)"}
    if not name:
        raise ConfigError(f"keys {action}: give the key's NAME")
    if action == "revoke":
        path = keydir.revoke(d, name)
        return {"result": {"revoked": name, "path": str(path)},
                "text": f"revoked {name}: a running broker cuts its sessions within a second"}
    if not role:
        raise ConfigError("keys generate: give --role (" + ", ".join(keydir.ROLES) + ")")
    host_list = [h.strip() for h in hosts.split(",")] if hosts else None
    public, secret = keydir.generate(d, name, role, host_list)
    flags = (f"--curve-server-key {d / 'broker.key'} --curve-secret {name}.key_secret")
    text = (f"{role} key {name}: public {public}, secret {secret} (mode 0600)\n"
            f"copy {d / 'broker.key'} and {secret} to the {role}'s machine, then:\n"
            + _usage(role, flags))
    return {"result": {"name": name, "role": role, "public": str(public),
                       "secret": str(secret), "server_key": str(d / "broker.key")},
            "text": text}


def _usage(role: str, flags: str) -> str:
    if role == "agent":
        return f"  monitor-agent --broker BROKER {flags}"
    if role == "peer":
        return "  (peer keys are for a second broker: see docs/security.md)"
    return (f"  monitor-tui --broker BROKER {flags}\n"
            f"  monitor-ctl --broker BROKER {flags} status")


def _init(d: Path) -> dict[str, Any]:
    public, secret = keydir.init(d)
    text = "\n".join([
        f"broker keypair: {secret} (mode 0600, stays here); public key: {public}",
        f"role folders: {d / 'roles'}/{{{','.join(keydir.ROLES)}}}",
        f"start the broker:  monitor-broker --keys-dir {d}",
        "then, one key per agent and per person:",
        f"  monitor-ctl keys generate web-1 --role agent --dir {d}",
        f"  monitor-ctl keys generate alice --role operator --dir {d}",
        "and on each agent or console (with broker.key and its .key_secret copied there):",
        "  monitor-agent --broker BROKER --curve-server-key broker.key "
        "--curve-secret web-1.key_secret",
        "  monitor-tui --broker BROKER --curve-server-key broker.key "
        "--curve-secret alice.key_secret",
    ])
    return {"result": {"public": str(public), "secret": str(secret),
                       "roles": str(d / "roles")}, "text": text}
