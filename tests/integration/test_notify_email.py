"""Email through a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS, implicit TLS."""

from __future__ import annotations

import email
import email.policy
import ssl
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from broker.notify.config import parse_notify_config
from broker.notify.dispatcher import Notifier
from core.clock import FakeClock
from tests.notify_servers import alert, alert_event, free_port, self_signed

pytestmark = pytest.mark.integration
T0 = 1_700_000_000.0


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def auth(self, server: Any, session: Any, envelope: Any, mechanism: str,
             data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, pw = data.login.decode(), data.password.decode()
            self.logins.append((user, pw))
            ok = (user, pw) == ("monitor@example.com", "pw-123")
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def server_ctx(certs: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(certs[0]), str(certs[1]))
    return ctx


@pytest.fixture
def smtp(request: pytest.FixtureRequest, certs: tuple[Path, Path]) -> Iterator[tuple]:
    mode = getattr(request, "param", "plain")
    box = Mailbox()
    # aiosmtpd does not count implicit TLS as TLS for auth_require_tls
    kw: dict[str, Any] = {"authenticator": box.auth, "auth_require_tls": mode == "starttls"}
    if mode == "starttls":
        kw.update(tls_context=server_ctx(certs), require_starttls=True)
    elif mode == "implicit":
        kw.update(ssl_context=server_ctx(certs))
    ctl = Controller(box, hostname="127.0.0.1", port=free_port(), **kw)
    ctl.start()
    yield box, ctl.port, mode
    ctl.stop()


def run(tmp_path: Path, port: int, extra: str, events: list | None = None) -> Notifier:
    toml = f"""
[[receiver]]
name = "ops-mail"
type = "email"
to = ["ops@example.com", "oncall@example.com"]
from = "monitor@example.com"
smtp_host = "127.0.0.1"
smtp_port = {port}
password_env = "SMTP_PASSWORD"
{extra}
[[route]]
receiver = "ops-mail"
group_wait = "0s"
"""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMTP_PASSWORD", "pw-123")
        cfg = parse_notify_config(tomllib.loads(toml), "broker.toml")
    return Notifier(cfg, tmp_path / "notify.db", clock=FakeClock(T0),
                    emit=None if events is None else events.append)


@pytest.mark.parametrize("smtp", ["plain", "starttls", "implicit"], indirect=True)
def test_mail_delivered(tmp_path: Path, smtp: tuple, certs: tuple[Path, Path]) -> None:
    box, port, mode = smtp
    tls = {"plain": 'tls = "none"', "starttls": 'tls = "starttls"',
           "implicit": 'tls = "implicit"'}[mode]
    with run(tmp_path, port, f'{tls}\nca_file = "{certs[0]}"') as n:
        n.handle(alert_event(alert(simulated=True, runbook_url="https://wiki/rb")))
        n.tick()
        assert n.recent()[0]["status"] == "delivered", n.recent()
    (rcpts, msg), = box.messages
    assert rcpts == ["ops@example.com", "oncall@example.com"]
    assert box.logins == [("monitor@example.com", "pw-123")]
    assert msg["Subject"] == "[SIMULATED] [FIRING:1] high_cpu on web-1"
    assert msg["To"] == "ops@example.com, oncall@example.com"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Host: web-1" in text and "SIMULATED alert" in text and "Runbook: https://wiki/rb" in text
    assert "<h2" in html and "SIMULATED" in html and 'href="https://wiki/rb"' in html


def test_bad_password_is_misconfigured(tmp_path: Path, smtp: tuple) -> None:
    box, port, _ = smtp
    events: list[dict] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMTP_PASSWORD", "wrong-pw-999")
        toml = f"""
[[receiver]]
name = "ops-mail"
type = "email"
to = ["ops@example.com"]
from = "monitor@example.com"
smtp_host = "127.0.0.1"
smtp_port = {port}
password_env = "SMTP_PASSWORD"
tls = "none"
"""
        cfg = parse_notify_config(tomllib.loads(toml), "broker.toml")
    with Notifier(cfg, tmp_path / "n.db", clock=FakeClock(T0), emit=events.append) as n:
        n.test_notify("ops-mail")
        n.tick()
        (row,) = n.recent()
        assert row["status"] == "misconfigured" and "authentication failed" in row["error"]
    assert [e["kind"] for e in events] == ["notify.failed"]
    assert "wrong-pw-999" not in repr(events) and box.messages == []


def test_unreachable_server_is_retried(tmp_path: Path) -> None:
    with run(tmp_path, free_port(), 'tls = "none"') as n:
        n.test_notify("ops-mail")
        n.tick()
        (row,) = n.recent()
        assert row["status"] == "pending" and row["attempts"] == 1 and row["error"]
