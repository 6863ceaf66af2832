"""Any SMTP server (a relay, Amazon SES, Gmail...): the message built by Django, sent with
smtplib in a worker thread so that the event loop never waits on a socket."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from apps.catalog.failures import failure_reason
from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_CONNECTION,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MISCONFIGURED,
    OUTCOME_TIMEOUT,
    CallContext,
    InvalidInput,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.core import egress
from apps.integrations.email.message import mime_message, outgoing_email
from apps.messaging.adapters import MessagingAdapter


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect, from the provider's base URL.

    smtp://host:port   STARTTLS when the server offers it (port 25 when none is given)
    smtp://host:port?starttls=required   refuse to send without STARTTLS
    smtps://host:port  TLS from the first byte (port 465 when none is given)
    """

    host: str
    port: int
    implicit_tls: bool
    require_starttls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ProviderFault(
                OUTCOME_MISCONFIGURED,
                f"base_url {url!r} is not smtp://host:port or smtps://host:port",
                sent=False,
            )
        implicit_tls = parts.scheme == "smtps"
        starttls = parse_qs(parts.query).get("starttls", [""])[0]
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit_tls else 25),
            implicit_tls=implicit_tls,
            require_starttls=starttls == "required",
        )


def tls_context() -> ssl.SSLContext:
    """Certificates are verified against the system's CAs (SSL_CERT_FILE adds a private CA)."""
    return ssl.create_default_context()


# The SMTP host is ops' to change: connect only to an address the egress policy allows
# (apps.core.egress), resolved and checked here rather than by smtplib. TLS still verifies
# the certificate against the configured host name (smtplib keeps it in _host).
class _CheckedSMTP(smtplib.SMTP):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return egress.connect(host, port, timeout)


class _CheckedSMTPSSL(smtplib.SMTP_SSL):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.context.wrap_socket(
            egress.connect(host, port, timeout),
            server_hostname=self._host,  # type: ignore[attr-defined]  # set by SMTP.connect
        )


@registry.provider
class Smtp(MessagingAdapter):
    """An SMTP server. Credentials `username` and `password` are optional (a relay that
    trusts this host needs none) and are only ever sent over TLS.

    Classification: a refused or failed connection, TLS or login is a fault before anything
    was sent; a 5xx refusal of every recipient or of the message is the client's input (422);
    a 4xx is the server's temporary trouble (fail over); a timeout or a dropped connection
    while the message is being sent leaves the outcome unknown.
    """

    key = "email.smtp"
    display_name = "SMTP server"
    default_base_url = "smtp://localhost:25"
    default_timeout_ms = 10_000
    credential_fields = ("username", "password")

    @provides("send")
    async def send_email(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        server = SmtpServer.from_url(self.config.base_url)
        email = await outgoing_email(payload)
        message, message_id = mime_message(email)
        # Django's MIME classes take `linesep`; SMTP wants CRLF and sends bytes as they are.
        raw = message.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
        await asyncio.to_thread(self._deliver, server, email.sender.email, email.recipients, raw)
        return {"accepted": True, "message_id": message_id}

    async def health_probe(self) -> None:
        """Connect, say EHLO, STARTTLS and log in as a send would, then NOOP and QUIT."""
        server = SmtpServer.from_url(self.config.base_url)
        await asyncio.to_thread(self._probe, server)

    def _probe(self, server: SmtpServer) -> None:
        smtp = self._open(server)
        try:
            code, reply = smtp.noop()
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderFault(OUTCOME_CONNECTION, failure_reason(exc), sent=False) from exc
        finally:
            _close(smtp)
        if code != 250:
            raise ProviderFault(OUTCOME_HTTP_ERROR, f"NOOP answered {_reply(code, reply)}")

    def _deliver(self, server: SmtpServer, sender: str, recipients: list[str], raw: bytes) -> None:
        smtp = self._open(server)
        try:
            _send(smtp, sender, recipients, raw)
        finally:
            _close(smtp)

    def _open(self, server: SmtpServer) -> smtplib.SMTP:
        """A session ready for MAIL FROM: connected, TLS as configured, logged in if asked."""
        username = self.config.credentials.get("username", "")
        password = self.config.credentials.get("password", "")
        try:
            smtp = self._connect(server)
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderFault(OUTCOME_CONNECTION, failure_reason(exc), sent=False) from exc
        try:
            secure = server.implicit_tls or self._starttls(smtp, server)
            if username:
                if not secure:
                    raise ProviderFault(
                        OUTCOME_MISCONFIGURED,
                        "the server offers no STARTTLS: the password is not sent in clear",
                        sent=False,
                    )
                smtp.login(username, password)
        except smtplib.SMTPAuthenticationError as exc:
            _close(smtp)
            raise ProviderFault(OUTCOME_AUTH, failure_reason(exc), sent=False) from exc
        except (OSError, smtplib.SMTPException) as exc:
            _close(smtp)
            raise ProviderFault(OUTCOME_CONNECTION, failure_reason(exc), sent=False) from exc
        except ProviderFault:
            _close(smtp)
            raise
        return smtp

    def _connect(self, server: SmtpServer) -> smtplib.SMTP:
        timeout = self.config.timeout_s
        if server.implicit_tls:
            return _CheckedSMTPSSL(server.host, server.port, timeout=timeout, context=tls_context())
        return _CheckedSMTP(server.host, server.port, timeout=timeout)

    @staticmethod
    def _starttls(smtp: smtplib.SMTP, server: SmtpServer) -> bool:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=tls_context())
            smtp.ehlo()
            return True
        if server.require_starttls:
            raise ProviderFault(
                OUTCOME_MISCONFIGURED, "the server does not offer STARTTLS", sent=False
            )
        return False


def _send(smtp: smtplib.SMTP, sender: str, recipients: list[str], raw: bytes) -> None:
    try:
        smtp.sendmail(sender, recipients, raw)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {address: code for address, (code, _) in exc.recipients.items()}
        if all(code >= 500 for code in codes.values()):
            raise InvalidInput(
                "The SMTP server refused every recipient.",
                errors={"to": [f"{a}: {_reply(*exc.recipients[a])}" for a in codes]},
            ) from exc
        raise ProviderFault(OUTCOME_HTTP_ERROR, f"recipients refused: {codes}", sent=False) from exc
    except smtplib.SMTPSenderRefused as exc:
        # Our relay may not send for this sender; another provider may.
        raise ProviderFault(
            OUTCOME_MISCONFIGURED, f"sender refused: {_reply(exc.smtp_code, exc.smtp_error)}"
        ) from exc
    except smtplib.SMTPDataError as exc:
        reply = _reply(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code >= 500:
            raise InvalidInput(
                f"The SMTP server refused the message: {reply}",
                errors={"non_field_errors": [reply]},
            ) from exc
        raise ProviderFault(OUTCOME_HTTP_ERROR, f"message refused: {reply}", sent=False) from exc
    except TimeoutError as exc:
        raise ProviderFault(OUTCOME_TIMEOUT, failure_reason(exc), sent=True) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise ProviderFault(OUTCOME_CONNECTION, failure_reason(exc), sent=True) from exc


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; what happens after the message was accepted changes nothing."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
