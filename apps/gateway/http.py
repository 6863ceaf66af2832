"""A call over HTTP, both ways: what arrived as a GatewayRequest, a GatewayResponse as what
goes out. POST /api/v1/services/{service}/{method}/.

Two entries serve calls: the ASGI endpoint production serves them from
(apps.gateway.asgi_calls, before Django's request stack) and the DRF ViewSet that serves them
when Django has the request (apps.gateway.views: runserver, a WSGI server). Each only reads
the request and writes the answer its own way; what is checked, what the pipeline gets and
what is answered is decided here, once, so the two cannot answer differently.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from apps.catalog.documents import Document
from apps.core.egress import url_refusal
from apps.core.errors import (
    GatewayError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    database_unavailable,
)
from apps.core.problems import PROBLEM_CONTENT_TYPE, problem_body
from apps.gateway.pipeline import handle_call
from apps.gateway.stages import GatewayRequest, GatewayResponse
from apps.ledger.models import LedgerEntry

__all__ = [
    "CALL_PATH",
    "HttpAnswer",
    "answer_call",
    "callback_url_check",
    "gateway_request_from_http",
    "http_answer",
    "prefers_async",
    "problem_answer",
]

CALL_PATH = re.compile(r"^/api/v1/services/(?P<service>[-\w]+)/(?P<method>[-\w]+)/$", re.ASCII)

# What Django's SecurityMiddleware and XFrameOptionsMiddleware add to its responses: a call
# answered before Django carries them too.
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A call's answer as HTTP: status, header fields in order, and the body.

    A method answering a document has its bytes in `document` (streamed, then closed by
    the entry) and an empty `body`; Content-Length is the document's size.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    request_id: str  # as in X-Request-ID: an idempotent replay's is the first call's
    document: Document | None = None


def gateway_request_from_http(
    *,
    http_method: str,
    host: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None,
    client_ip: str | None,
    request_id: str,
) -> GatewayRequest:
    """The call as the pipeline takes it; a GatewayError is the problem to answer instead.

    `host` is the request's (its Host header); `body` is None when the entry stopped reading
    it past GATEWAY_MAX_BODY_BYTES. The checks go in the order a client meets them: the
    Host, the HTTP method, the body's size, the path, the callback URL.
    """
    if not _host_allowed(host):
        raise InvalidRequest("The Host header is not one of ALLOWED_HOSTS.")
    if http_method != "POST":
        raise MethodNotAllowed("Call a method with POST.", headers={"Allow": "POST"})
    if body is None or len(body) > settings.GATEWAY_MAX_BODY_BYTES:
        raise PayloadTooLarge()
    match = CALL_PATH.match(path)
    if match is None:
        raise NotFound(f"No such endpoint: {path}")
    respond_async = prefers_async(headers.get("Prefer", ""))
    callback_url = headers.get("X-Callback-URL", "").strip()
    if callback_url:
        callback_url_check(callback_url)
    return GatewayRequest(
        request_id=request_id,
        service=match["service"],
        method=match["method"],
        body=body,
        headers=headers,
        channel=LedgerEntry.Channel.ASYNC if respond_async else LedgerEntry.Channel.HTTP,
        source_ip=client_ip,
        respond_async=respond_async,
        callback_url=callback_url,
    )


def callback_url_check(url: str) -> str:
    """The callback URL of an async call, checked: absolute http(s), at most 2000 chars."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidRequest("The callback URL must be an absolute http(s) URL.")
    # What is plain from the URL alone is refused now; delivery checks every address again.
    if url_refusal(url) is not None:
        raise InvalidRequest("The callback URL must point to a public address.")
    return url


def prefers_async(prefer: str) -> bool:
    """Whether a Prefer header (RFC 7240) asks for respond-async."""
    return any(p.split(";")[0].strip().lower() == "respond-async" for p in prefer.split(","))


async def answer_call(request: GatewayRequest) -> HttpAnswer:
    """Run the call through the pipeline and answer it.

    Shielded: a client that hangs up (the server or Django then cancels the entry) must not
    cancel a call between its credit hold and its ledger row (the provider may already be
    serving it); the call runs to its end. A database that is away before the call was
    admitted is its 503 problem; any other exception is a bug and propagates.
    """
    try:
        response = await asyncio.shield(handle_call(request))
    except Exception as exc:
        if (unavailable := database_unavailable(exc)) is None:
            raise
        return problem_answer(unavailable, request.request_id)
    return http_answer(response, request.request_id)


def http_answer(response: GatewayResponse, request_id: str) -> HttpAnswer:
    """The pipeline's answer as HTTP (an idempotent replay keeps the first call's id)."""
    request_id = response.request_id or request_id
    document = response.document
    body = b"" if document is not None else response.render()
    length = document.size if document is not None else len(body)
    return HttpAnswer(
        status=response.status,
        headers=(
            ("Content-Type", response.content_type),
            ("Content-Length", str(length)),
            ("X-Request-ID", request_id),
            *SECURITY_HEADERS,
            *response.headers.items(),
        ),
        body=body,
        request_id=request_id,
        document=document,
    )


def problem_answer(error: GatewayError, request_id: str) -> HttpAnswer:
    """A call refused before the pipeline had it (or with the database away)."""
    body = json.dumps(problem_body(error, request_id)).encode()
    return HttpAnswer(
        status=error.status,
        headers=(
            ("Content-Type", PROBLEM_CONTENT_TYPE),
            ("Content-Length", str(len(body))),
            ("X-Request-ID", request_id),
            *SECURITY_HEADERS,
            *error.headers.items(),
        ),
        body=body,
        request_id=request_id,
    )


def _host_allowed(host: str) -> bool:
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)
