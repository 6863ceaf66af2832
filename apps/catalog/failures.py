"""Short reasons, written by us, for why a provider could not be reached or understood.

A library's message is never stored, returned or logged as a provider's error: httpx and
aiohttp put the request URL (query string and all: fixer's `access_key`) into theirs, smtplib
the server's reply, parsers a piece of the body. Every failure is named here by its class
alone ("read timeout", "not valid HTTP", "unexpected answer shape (KeyError)"), and any text
an adapter composed itself goes through `scrub` before it is kept anywhere.
"""

from __future__ import annotations

import math
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable
from email.utils import parsedate_to_datetime

import httpx
from django.utils import timezone

from apps.core.egress import EgressForbidden
from apps.core.redaction import mask, maskable

# Most specific first: the first class the exception is an instance of names it.
_HTTPX_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (httpx.ConnectTimeout, "connect timeout"),
    (httpx.ReadTimeout, "read timeout"),
    (httpx.WriteTimeout, "write timeout"),
    (httpx.PoolTimeout, "no free connection in the pool"),
    (httpx.TimeoutException, "timeout"),
    (httpx.ConnectError, "connection failed"),
    (httpx.ProxyError, "proxy error"),
    (httpx.UnsupportedProtocol, "unsupported URL"),
    (httpx.RemoteProtocolError, "not valid HTTP"),
    (httpx.LocalProtocolError, "request could not be sent"),
    (httpx.ReadError, "connection lost while reading"),
    (httpx.WriteError, "connection lost while sending"),
    (httpx.DecodingError, "answer could not be decoded"),
    (httpx.TooManyRedirects, "too many redirects"),
)

EGRESS_FORBIDDEN = "address refused by the egress policy"

_OS_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (EgressForbidden, EGRESS_FORBIDDEN),
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset"),
    (socket.gaierror, "host name not resolved"),
    (ssl.SSLError, "TLS error"),
    (TimeoutError, "timeout"),
    (ConnectionError, "connection error"),
)

MAX_REASON = 200


def failure_reason(exc: BaseException) -> str:
    """Our name for a transport or protocol failure; never the exception's own text."""
    cause = _os_cause(exc)
    if isinstance(exc, httpx.ConnectError) and cause is not None:
        return _os_reason(cause)
    for kind, reason in _HTTPX_REASONS:
        if isinstance(exc, kind):
            if reason == "not valid HTTP" and _closed_by_server(exc):
                return "connection closed by the server"
            return reason
    if isinstance(exc, httpx.HTTPError):
        return f"transport error ({type(exc).__name__})"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login refused (SMTP {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "connection closed by the server"
    if isinstance(exc, smtplib.SMTPException):
        return f"SMTP error ({type(exc).__name__})"
    if isinstance(exc, OSError | TimeoutError):
        return _os_reason(exc)
    return f"failure ({type(exc).__name__})"


def egress_forbidden(exc: BaseException) -> bool:
    """Whether the egress policy refused the address `exc` failed to connect to: final,
    unlike a refused connection or a name that did not resolve."""
    return any(isinstance(link, EgressForbidden) for link in _chain(exc))


def reason_named(class_name: str) -> str | None:
    """Our reason for an exception known only by its class's name (text stored before this
    module existed began with it), or None when the name is not a transport failure's."""
    for kind, reason in (*_HTTPX_REASONS, *_OS_REASONS):
        if kind.__name__ == class_name:
            return reason
    if class_name.startswith("SMTP") and hasattr(smtplib, class_name):
        return f"SMTP error ({class_name})"
    return None


def answer_reason(exc: BaseException) -> str:
    """An answer without the shape the vendor documents (a missing key, a wrong type)."""
    return f"unexpected answer shape ({type(exc).__name__})"


def bug_reason(exc: BaseException) -> str:
    """An exception our own code did not expect (an adapter's or a strategy's bug)."""
    return f"raised {type(exc).__name__}"


def _os_reason(exc: BaseException) -> str:
    for kind, reason in _OS_REASONS:
        if isinstance(exc, kind):
            return reason
    return f"network error ({type(exc).__name__})"


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _os_cause(exc: BaseException) -> BaseException | None:
    """The operating system's error under a connect failure (refused, not resolved...)."""
    for link in _chain(exc):
        os_error = getattr(link, "os_error", None)  # aiohttp's ClientConnectorError
        if isinstance(os_error, OSError):
            return os_error
        if link is not exc and isinstance(link, OSError):
            return link
    return None


def _closed_by_server(exc: BaseException) -> bool:
    return any(type(link).__name__ == "ServerDisconnectedError" for link in _chain(exc))


# Anything that looks like a URL: its query, fragment and user info are dropped when kept.
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:[^\s/@'\"<>]*@)?([^\s?#'\"<>]*)[^\s'\"<>]*")


def scrub(text: str, secrets: Iterable[str] = (), *, limit: int | None = MAX_REASON) -> str:
    """Text an adapter composed, made safe to keep: no URL query or user info, none of
    `secrets` nor any credential the catalog knows, at most `limit` characters."""
    text = _URL.sub(lambda m: m.group(1) + m.group(2), text)
    text = mask(mask(text, maskable(secrets)))
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The response's Retry-After in seconds; None when absent or not a finite number."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None
