"""Who may connect, and who sent a frame: the broker's side of keys and roles.

With a keys directory (core/keydir.py) every socket speaks CurveZMQ and a ZAP
authenticator (pyzmq's thread) lets in only listed keys, each socket only the roles that
belong on it: ingest takes agents and peers, publish takes viewers and up, control takes
every listed key (an op it may not run is refused by name, broker/api/control.py). ZeroMQ
stamps each message with the key that sent it (the ``User-Id`` frame property, the z85
public key here), so ``identify`` maps a frame to its key's name and role as they are now:
a revoked key's live session is refused on its next frame, and ``BrokerCore.rebind`` cuts
it off altogether.

Without keys every client is a trusted local one (``Identity.keyless``): the broker binds
loopback only unless ``--insecure`` says otherwise.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import zmq

from core import keydir
from core.config import ConfigError
from core.keydir import Identity, KeyRing
from core.keys import ServerCurve, load_keypair
from core.ops import ROLES

if TYPE_CHECKING:
    from broker.ingest.loop import BrokerCore

log = logging.getLogger(__name__)

# Which roles may connect to which socket (the ZAP domain is the socket's name).
DOMAINS: dict[str, tuple[str, ...]] = {
    "ingest": ("agent", "peer"),
    "publish": ("viewer", "operator", "admin", "peer"),
    "control": ROLES,
}
KEYLESS = Identity("local", "admin", keyless=True)


def is_loopback(endpoint: str) -> bool:
    """True for tcp://127.x / [::1] / localhost, ipc:// and inproc://."""
    if not endpoint.startswith("tcp://"):
        return True
    host = urlsplit(endpoint.replace("tcp://", "tcp://x@", 1)).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # *, 0.0.0.0 is an address too but not loopback, an interface name...


class Gate:
    """The keys, the ZAP callback, frame -> identity, and the refusal counters."""

    def __init__(self, keys_dir: Path | None, insecure: bool = False) -> None:
        self.keys_dir = keys_dir
        self.insecure = insecure
        self.refused: Counter[str] = Counter()
        self.curve: ServerCurve | None = None
        self.ring = KeyRing()
        self._own = b""
        self._stamp: tuple[float, ...] = ()
        self._auth: Any = None
        self._lock = threading.Lock()  # the ZAP thread counts refusals too
        if keys_dir is not None:
            self.curve = ServerCurve(load_keypair(keys_dir / "broker.key_secret",
                                                  "--keys-dir"))
            self._own = self.curve.keys.public
            self.ring = self._load()

    @property
    def keyed(self) -> bool:
        return self.curve is not None

    def _load(self) -> KeyRing:
        assert self.keys_dir is not None
        self._stamp = keydir.stamp(self.keys_dir)
        ring = keydir.load(self.keys_dir)
        ring.by_key[self._own] = Identity("broker", "peer")  # the in-process agent
        return ring

    # ------------------------------------------------------------ sockets and ZAP

    def start(self, ctx: zmq.Context[Any]) -> None:
        if self.curve is None:
            return
        from zmq.auth.thread import ThreadAuthenticator

        self._auth = ThreadAuthenticator(ctx)
        self._auth.start()
        for domain in DOMAINS:
            self._auth.configure_curve_callback(domain=domain, credentials_provider=self)

    def stop(self) -> None:
        if self._auth is not None:
            self._auth.stop()
            self._auth = None

    def apply(self, sock: zmq.Socket[Any], domain: str) -> None:
        if self.curve is not None:
            self.curve.apply(sock)
            sock.zap_domain = domain.encode()

    def callback(self, domain: str, key: bytes) -> bool:
        """ZAP (the authenticator's thread): may this key connect to this socket?"""
        ring = self.ring
        who = ring.by_key.get(key)
        if who is None:
            self._count(domain, "revoked key" if key in ring.revoked else "unknown key")
            return False
        if who.role not in DOMAINS.get(domain, ()):
            self._count(domain, f"role {who.role}")
            return False
        return True

    def _count(self, domain: str, reason: str) -> None:
        with self._lock:
            self.refused[f"{domain}: {reason}"] += 1

    def monitor(self, sock: zmq.Socket[Any]) -> zmq.Socket[Any] | None:
        """A PAIR socket reporting failed handshakes (plain text, wrong server key)."""
        if self.curve is None:
            return None
        return sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                                       | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)

    def on_monitor(self, domain: str, mon: zmq.Socket[Any]) -> None:
        from zmq.utils.monitor import recv_monitor_message

        while mon.poll(0):
            msg = recv_monitor_message(mon)
            # with ZAP on, a plain-text peer shows as either (measured, libzmq 4.3.5)
            if msg["event"] in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
                self._count(domain, "plain text or bad handshake")

    # ------------------------------------------------------------ who sent this

    def identify(self, frame: zmq.Frame, domain: str) -> Identity | None:
        """The sender of a received frame, or None (counted) if it may no longer send."""
        if self.curve is None:
            return KEYLESS
        uid = frame.get("User-Id")
        who = self.ring.by_key.get(uid.encode() if isinstance(uid, str) else b"")
        if who is None:
            self._count(domain, "revoked key (live session)")
            return None
        if who.role not in DOMAINS[domain]:
            self._count(domain, f"role {who.role} (live session)")
            return None
        return who

    @staticmethod
    def address(frame: zmq.Frame) -> str:
        try:
            return str(frame.get("Peer-Address"))
        except zmq.ZMQError:
            return ""

    # ------------------------------------------------------------ reload

    def changed(self) -> bool:
        return self.keys_dir is not None and keydir.stamp(self.keys_dir) != self._stamp

    def reload(self) -> dict[str, Any]:
        """Re-read the keys directory. Returns what changed; ``removed`` > 0 means live
        sessions must be cut (BrokerCore.rebind). A broken directory keeps the old ring."""
        if self.keys_dir is None:
            return {"keys": 0, "removed": 0}
        old = self.ring
        new = self._load()
        removed = [i.name for k, i in old.by_key.items()
                   if new.by_key.get(k, None) is None or new.by_key[k].role != i.role]
        self.ring = new
        if removed:
            log.warning("keys revoked or changed role: %s", ", ".join(sorted(removed)))
        return {"keys": len(new.by_key) - 1, "removed": len(removed), "names": sorted(removed)}

    def reload_into(self, core: BrokerCore, now: float) -> dict[str, Any]:
        """Reload on the core thread: cut live sessions if a key went, say so as an event."""
        from broker.events import make_event

        try:
            result = self.reload()
        except (ConfigError, OSError) as exc:
            core.emit(make_event("keys.reload", f"keys reload failed, old keys kept: {exc}",
                                 ts=now, severity="warning", data={"error": str(exc)}))
            return {"error": str(exc)}
        if result["removed"]:
            core.rebind()
        names = ", ".join(result.get("names", []))
        core.emit(make_event("keys.reload", f"keys reloaded: {result['keys']} keys"
                             + (f"; cut off: {names}" if names else ""), ts=now,
                             severity="warning" if names else "info", data=result))
        return result

    def status(self) -> dict[str, Any]:
        if self.curve is not None:
            mode = "keys"
        else:
            mode = "insecure" if self.insecure else "loopback"
        out: dict[str, Any] = {"mode": mode, "refused": sum(self.refused.values()),
                               "refused_by_reason": dict(self.refused)}
        if self.curve is not None:
            out["keys"] = len(self.ring.by_key) - 1
        if mode == "insecure":
            out["warning"] = ("no keys and not on loopback only: anyone who can reach the "
                              "ports can read everything and act as admin")
        return out
