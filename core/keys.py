"""CurveZMQ keys: encryption and authentication for every socket of the system.

The broker holds a keypair and serves CURVE on its ingest, publish and control sockets.
Agents, monitor-ctl and monitor-tui know the broker's public key (a ``.key`` file) and
hold a keypair of their own. With an authorized-keys folder the broker lets in only the
clients whose public keys are in it (ZAP, through pyzmq's authenticator thread); without
one it accepts any client that knows its public key (encrypted, not authenticated).

Key files are ZeroMQ's certificate format (``NAME.key`` public, ``NAME.key_secret``
secret), made by ``monitor-ctl keys generate NAME``.
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


def generate(directory: str | os.PathLike[str], name: str) -> tuple[Path, Path]:
    """Write NAME.key and NAME.key_secret (mode 0600) into ``directory``."""
    if not name or any(c in name for c in "/\\ ") or name.startswith("."):
        raise ConfigError(f"key name {name!r}: use letters, digits, '-' and '_'")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if (d / f"{name}.key_secret").exists():
        raise ConfigError(f"{d / (name + '.key_secret')} already exists: not overwriting a key")
    public, secret = zmq.auth.create_certificates(str(d), name)
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
    """The broker side: its keypair and, optionally, the clients it lets in."""

    keys: Keypair
    authorized: Path | None = None

    def start_auth(self, ctx: zmq.Context[Any]) -> Any:
        from zmq.auth.thread import ThreadAuthenticator

        if self.authorized is not None and not self.authorized.is_dir():
            raise ConfigError(f"--authorized-keys {self.authorized}: not a directory")
        auth = ThreadAuthenticator(ctx)
        auth.start()
        if self.authorized is None:
            auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        else:
            auth.configure_curve_callback(domain="*", credentials_provider=_Authorized(
                self.authorized, self.keys.public))
        return auth

    def own_client(self) -> ClientCurve:
        """For the broker's in-process agent: it presents the broker's own keypair."""
        return ClientCurve(self.keys.public, self.keys)

    def apply(self, sock: zmq.Socket[Any]) -> None:
        sock.curve_secretkey = self.keys.secret
        sock.curve_publickey = self.keys.public
        sock.curve_server = True


class _Authorized:
    """ZAP credentials: the public keys in a folder (re-read when an unknown key knocks,
    so adding a key needs no restart) plus the broker's own key."""

    def __init__(self, folder: Path, own: bytes) -> None:
        self.folder = folder
        self.own = own
        self.keys = self._read()

    def _read(self) -> set[bytes]:
        keys = {self.own}
        for path in self.folder.glob("*.key"):
            try:
                keys.add(zmq.auth.load_certificate(str(path))[0])
            except (OSError, ValueError):
                continue  # a stray file is not a reason to lock everyone out
        return keys

    def callback(self, domain: str, key: bytes) -> bool:
        if key in self.keys:
            return True
        self.keys = self._read()
        return key in self.keys


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


def server_from_args(secret: str | None, authorized: str | None) -> ServerCurve | None:
    if not secret:
        if authorized:
            raise ConfigError("--authorized-keys needs --curve-secret (the broker's keypair)")
        return None
    return ServerCurve(load_keypair(secret), Path(authorized) if authorized else None)
