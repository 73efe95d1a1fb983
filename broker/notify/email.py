"""Email over SMTP: implicit TLS or STARTTLS, optional auth, several recipients,
plain text plus HTML (multipart/alternative).

smtplib blocks, so it runs on the receiver's delivery thread (see delivery.py), never on
the bus or the core loop.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from broker.notify import render
from broker.notify.base import Channel, Notification, PermanentError, TemporaryError

DEFAULT_PORT = {"implicit": 465, "starttls": 587, "auto": 25, "none": 25}


class EmailChannel(Channel):
    TYPE = "email"
    SETTINGS = {"to": "emails", "from": "str", "smtp_host": "str", "smtp_port": "int",
                "tls": "choice:auto|starttls|implicit|none", "tls_verify": "bool",
                "ca_file": "str", "username": "str", "password": "secret", "html": "bool",
                "subject_prefix": "str", "runbook_url": "str", "title": "template",
                "body": "template"}
    REQUIRED = frozenset({"to", "from", "smtp_host"})
    DEFAULTS = {"tls": "auto", "tls_verify": True, "html": True, "subject_prefix": ""}

    def build(self, n: Notification) -> EmailMessage:
        s = self.settings
        msg = EmailMessage()
        msg["Subject"] = f"{s['subject_prefix']}{render.title(n, s)}".strip()
        msg["From"] = s["from"]
        msg["To"] = ", ".join(s["to"])
        msg["Date"] = formatdate(localtime=False)
        domain = str(s["from"]).rpartition("@")[2].strip("<> ") or "monitor.invalid"
        msg["Message-ID"] = f"<{n.id}@{domain}>"  # the same on a resend after a crash
        msg["X-Monitor-Notification-Id"] = n.id
        if n.simulated:
            msg["X-Monitor-Simulated"] = "true"
        msg.set_content(render.text_body(n, s.get("runbook_url", ""), render.body_template(n, s)))
        if s["html"]:
            msg.add_alternative(render.html_body(n, s.get("runbook_url", ""), render.body_template(n, s)), subtype="html")
        return msg

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.settings.get("ca_file"))
        if not self.settings["tls_verify"]:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def send(self, notification: Notification) -> None:
        s = self.settings
        tls = s["tls"]
        host, port = s["smtp_host"], s.get("smtp_port") or DEFAULT_PORT[tls]
        msg = self.build(notification)
        what = f"email {self.name}"
        try:
            if tls == "implicit":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=self.timeout,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if tls == "starttls" or (tls == "auto" and smtp.has_extn("starttls")):
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                password = self.secret("password")
                if password:
                    smtp.login(s.get("username") or s["from"], password)
                smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"{what}: authentication failed ({exc.smtp_code})") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(f"{what}: server does not support {exc}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"{what}: all recipients refused "
                                 f"({', '.join(sorted(exc.recipients))})") from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            err = f"{what}: SMTP {exc.smtp_code} {text[:200]}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentError(err) from None
            raise TemporaryError(err) from None
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(f"{what}: TLS certificate rejected: "
                                 f"{exc.verify_message}") from None
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise TemporaryError(f"{what}: {detail}") from None
