"""The keys directory: the broker's keypair and one allow-list folder per role.

```
DIR/broker.key            the broker's public key: give it to every client
DIR/broker.key_secret     the broker's keypair (mode 0600, stays on the broker host)
DIR/roles/<role>/NAME.key a client's public key; NAME is who it is, the folder what it may do
DIR/clients/NAME.key_secret  keypairs made by ``keys generate``, to copy to the client
DIR/revoked/NAME.key      keys taken away by ``keys revoke`` (kept so refusals can say so)
```

An agent's public key may list the hosts it publishes for in its metadata
(``hosts = "web-1,web-*"``, fnmatch patterns); without it the key's name is its only host.
Shared by the broker (which loads the ring) and monitor-ctl (which writes the folders).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import zmq.auth

from core.config import ConfigError
from core.ops import ROLES

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Identity:
    """Who sent a frame or request: a key's name and role, or a keyless local client."""

    name: str
    role: str
    hosts: tuple[str, ...] = ()
    keyless: bool = False

    def may_publish(self, host: str) -> bool:
        if self.keyless or self.role == "peer":
            return True
        if self.role != "agent":
            return False
        patterns = self.hosts or (self.name,)
        return host in patterns or any(fnmatch.fnmatchcase(host, p) for p in patterns)

    def author(self, claimed: str, address: str = "") -> str:
        """The author of a change: the key's name; a keyless client's claim, marked as such."""
        if not self.keyless:
            return self.name
        user = re.sub(r"[^\w.@-]", "", claimed or "")[:64] or "unknown"
        local = not address or address.startswith("127.") or address in ("::1", "localhost")
        return f"local:{user}" if local else f"insecure:{user}@{address}"


@dataclass
class KeyRing:
    """Public key (z85) -> identity, as read from a keys directory."""

    by_key: dict[bytes, Identity] = field(default_factory=dict)
    revoked: set[bytes] = field(default_factory=set)

    def names(self) -> set[str]:
        return {i.name for i in self.by_key.values()}


def _check_name(name: str) -> None:
    if not NAME_RE.match(name or ""):
        raise ConfigError(f"key name {name!r}: use letters, digits, '.', '-' and '_' "
                          "(at most 64, starting with a letter or digit)")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"role {role!r}: one of {', '.join(ROLES)}")


def init(directory: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Create the broker's keypair and the role folders; refuses to overwrite a key."""
    from core.keys import generate

    d = Path(directory)
    public, secret = generate(d, "broker")
    for role in ROLES:
        (d / "roles" / role).mkdir(parents=True, exist_ok=True)
    (d / "clients").mkdir(exist_ok=True)
    os.chmod(d / "clients", 0o700)
    return public, secret


def _require_layout(d: Path) -> None:
    if not (d / "broker.key_secret").is_file() or not (d / "roles").is_dir():
        raise ConfigError(f"{d}: not a keys directory (run 'monitor-ctl keys init --dir {d}')")


def generate(directory: str | os.PathLike[str], name: str, role: str,
             hosts: list[str] | None = None) -> tuple[Path, Path]:
    """A keypair for a client: the secret in clients/, the public key in roles/ROLE/."""
    from core.keys import generate as make_pair

    d = Path(directory)
    _check_name(name)
    _check_role(role)
    _require_layout(d)
    if find(d, name) is not None:
        raise ConfigError(f"key {name!r} already exists (revoke it first to replace it)")
    if hosts and role != "agent":
        raise ConfigError("--hosts is for agent keys only")
    for h in hosts or ():
        if not h or any(c in h for c in ", \t\"\n"):
            raise ConfigError(f"--hosts: bad host name or pattern {h!r}")
    meta = {"role": role} | ({"hosts": ",".join(hosts)} if hosts else {})
    public, secret = make_pair(d / "clients", name, metadata=meta)
    listed = d / "roles" / role / public.name
    text = public.read_text()  # pyzmq writes metadata into the secret file only
    lines = "".join(f'    {k} = "{v}"\n' for k, v in meta.items())
    public.write_text(text.replace("metadata\n", "metadata\n" + lines, 1))
    shutil.copyfile(public, listed)
    return listed, secret


def _hosts_of(path: Path) -> tuple[str, ...]:
    """The ``hosts = "a,b"`` line of a key file's metadata section, if any."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ()
    m = re.search(r'^\s*hosts\s*=\s*"([^"]*)"', text, re.MULTILINE)
    return tuple(h.strip() for h in m.group(1).split(",") if h.strip()) if m else ()


def entries(directory: str | os.PathLike[str]) -> list[dict[str, object]]:
    """Every key listed under roles/ and revoked/, for ``keys list``."""
    d = Path(directory)
    _require_layout(d)
    out: list[dict[str, object]] = []
    for role in ROLES:
        for path in sorted((d / "roles" / role).glob("*.key")):
            out.append({"name": path.stem, "role": role, "hosts": list(_hosts_of(path)),
                        "path": str(path), "revoked": False})
    for path in sorted((d / "revoked").glob("*.key")):
        out.append({"name": path.stem, "role": "", "hosts": [], "path": str(path),
                    "revoked": True})
    return out


def find(d: Path, name: str) -> Path | None:
    for role in ROLES:
        path = d / "roles" / role / f"{name}.key"
        if path.exists():
            return path
    return None


def revoke(directory: str | os.PathLike[str], name: str) -> Path:
    """Move NAME's public key to revoked/; the broker cuts its sessions when it notices."""
    d = Path(directory)
    _require_layout(d)
    path = find(d, name)
    if path is None:
        raise ConfigError(f"no key named {name!r} under {d / 'roles'}")
    (d / "revoked").mkdir(exist_ok=True)
    target = d / "revoked" / path.name
    os.replace(path, target)
    return target


def load(directory: str | os.PathLike[str]) -> KeyRing:
    """Read the role folders. A stray or broken file is skipped; a key in two roles is an
    error (which of the two did the admin mean?)."""
    d = Path(directory)
    _require_layout(d)
    ring = KeyRing()
    where: dict[bytes, str] = {}
    for role in ROLES:
        for path in sorted((d / "roles" / role).glob("*.key")):
            try:
                public = zmq.auth.load_certificate(str(path))[0]
            except (OSError, ValueError):
                continue
            if public in where:
                raise ConfigError(f"{path}: the same key is also {where[public]}")
            where[public] = str(path)
            ring.by_key[public] = Identity(path.stem, role, _hosts_of(path))
    for path in (d / "revoked").glob("*.key"):
        try:
            ring.revoked.add(zmq.auth.load_certificate(str(path))[0])
        except (OSError, ValueError):
            continue
    return ring


def stamp(directory: str | os.PathLike[str]) -> tuple[float, ...]:
    """Modification times of the role folders: a cheap test for 'something changed'."""
    d = Path(directory)
    out = []
    for sub in [*(Path("roles") / r for r in ROLES), Path("revoked")]:
        try:
            out.append((d / sub).stat().st_mtime)
        except OSError:
            out.append(0.0)
    return tuple(out)
