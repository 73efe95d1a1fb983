"""CurveZMQ keys: encryption and authentication for every socket of the system.

The broker holds a keypair and serves CURVE on its ingest, publish and control sockets.
Agents, monitor-ctl and monitor-tui know the broker's public key (a ``.key`` file) and
hold a keypair of their own. The broker lets in only the clients whose public keys are in
its keys directory (core/keydir.py), each with a role (broker/auth.py, ZAP).

Key files are ZeroMQ's certificate format (``NAME.key`` public, ``NAME.key_secret``
secret), made by ``monitor-ctl keys init`` and ``monitor-ctl keys generate``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.auth

from core.config import ConfigError


@dataclass(frozen=True)
class Keypair:
    public: bytes
    secret: bytes


def generate(directory: str | os.PathLike[str], name: str,
             metadata: dict[str, str] | None = None) -> tuple[Path, Path]:
    """Write NAME.key and NAME.key_secret (mode 0600) into ``directory``."""
    if not name or any(c in name for c in "/\\ ") or name.startswith("."):
        raise ConfigError(f"key name {name!r}: use letters, digits, '-' and '_'")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if (d / f"{name}.key_secret").exists():
        raise ConfigError(f"{d / (name + '.key_secret')} already exists: not overwriting a key")
    public, secret = zmq.auth.create_certificates(str(d), name, metadata=metadata)
    os.chmod(secret, 0o600)
    return Path(public), Path(secret)


def load_keypair(path: str | os.PathLike[str], flag: str = "--curve-secret") -> Keypair:
    try:
        public, secret = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{flag} {path}: cannot read key file: {exc}") from None
    if secret is None:
        raise ConfigError(f"{flag} {path}: this is a public key; give the .key_secret file")
    return Keypair(public, secret)


def load_public(path: str | os.PathLike[str], flag: str = "--curve-server-key") -> bytes:
    try:
        public, _ = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{flag} {path}: cannot read key file: {exc}") from None
    return public


@dataclass(frozen=True)
class ServerCurve:
    """The broker side: its keypair, served on every socket (ZAP is broker/auth.py)."""

    keys: Keypair

    def own_client(self) -> ClientCurve:
        """For the broker's in-process agent: it presents the broker's own keypair."""
        return ClientCurve(self.keys.public, self.keys)

    def apply(self, sock: zmq.Socket[Any]) -> None:
        sock.curve_secretkey = self.keys.secret
        sock.curve_publickey = self.keys.public
        sock.curve_server = True


@dataclass(frozen=True)
class ClientCurve:
    """An agent, monitor-ctl or monitor-tui: the broker's public key and our keypair."""

    server_public: bytes
    keys: Keypair

    def apply(self, sock: zmq.Socket[Any]) -> None:
        sock.curve_serverkey = self.server_public
        sock.curve_publickey = self.keys.public
        sock.curve_secretkey = self.keys.secret


def client_from_args(server_key: str | None, secret: str | None) -> ClientCurve | None:
    """--curve-server-key FILE [--curve-secret FILE]; an ephemeral keypair if no secret."""
    if not server_key:
        if secret:
            raise ConfigError("--curve-secret needs --curve-server-key (the broker's .key file)")
        return None
    server_public = load_public(server_key)
    if secret:
        keys = load_keypair(secret)
    else:
        public, sec = zmq.curve_keypair()
        keys = Keypair(public, sec)
    return ClientCurve(server_public, keys)
