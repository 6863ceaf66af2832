"""POST /api/v1/services/{service}/{method}/ served straight from ASGI, before Django.

Django's request stack costs a call more than the gateway's own work: sync-only middleware
puts every request on a thread of its own and hands each step back and forth between that
thread and the event loop (docs/benchmarks.md measured ~9 ms of CPU per call through it,
~3.5 ms here). Everything else (admin, schema, the other APIs) still goes to Django, and the
Django view in apps.gateway.api serves the same calls for the test client; both build the
same GatewayRequest and hand it to the one pipeline.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.datastructures import CaseInsensitiveMapping

from apps.catalog.documents import CHUNK_BYTES, Document
from apps.core.asyncdb import open_db_pool
from apps.core.errors import (
    GatewayError,
    InvalidRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    database_unavailable,
)
from apps.core.log_context import call_logged
from apps.core.middleware import request_id_for
from apps.core.problems import PROBLEM_CONTENT_TYPE, problem_body
from apps.gateway.call import GatewayResponse
from apps.gateway.entry import gateway_request_for
from apps.gateway.pipeline import handle_call

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

CALL_PATH = re.compile(r"^/api/v1/services/(?P<service>[-\w]+)/(?P<method>[-\w]+)/$", re.ASCII)

# What SecurityMiddleware and XFrameOptionsMiddleware add to Django's responses.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class _Answer:
    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str],
        document: Document | None = None,
    ):
        self.status, self.body, self.content_type, self.headers = (
            status,
            body,
            content_type,
            headers,
        )
        # A method answering a document: its bytes go out instead of `body`.
        self.document = document

    @classmethod
    def problem(cls, error: GatewayError, request_id: str) -> _Answer:
        body = json.dumps(problem_body(error, request_id)).encode()
        return cls(error.status, body, PROBLEM_CONTENT_TYPE, dict(error.headers))


class CallEndpoint:
    """Serves calls itself and passes every other request to `fallback` (Django)."""

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = CALL_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.fallback(scope, receive, send)
            return
        headers = CaseInsensitiveMapping(_decode_headers(scope["headers"]))
        request_id = request_id_for(headers.get("X-Request-ID", ""))
        # Every record of the call carries its request id (the server's access line too), and
        # the call's access record is written once it is answered (apps.core.log_context).
        with call_logged(
            request_id, channel="http", service=match["service"], method=match["method"]
        ) as log:
            answer, request_id = await self._answer(scope, receive, headers, request_id, match)
            await _send(send, answer, request_id)
            log.status = answer.status

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        headers: CaseInsensitiveMapping[str],
        request_id: str,
        match: re.Match[str],
    ) -> tuple[_Answer, str]:
        if not _host_allowed(headers.get("Host", "")):
            bad_host = InvalidRequest("The Host header is not one of ALLOWED_HOSTS.")
            return _Answer.problem(bad_host, request_id), request_id
        if scope["method"] != "POST":
            not_post = MethodNotAllowed("Call a method with POST.", headers={"Allow": "POST"})
            return _Answer.problem(not_post, request_id), request_id
        body = await _read_body(receive, headers)
        if body is None:
            return _Answer.problem(PayloadTooLarge(), request_id), request_id
        client = scope.get("client")
        try:
            call = gateway_request_for(
                request_id=request_id,
                service=match["service"],
                method=match["method"],
                body=body,
                headers=headers,
                source_ip=client[0] if client else None,
            )
        except GatewayError as error:
            return _Answer.problem(error, request_id), request_id
        await open_db_pool()  # the server's loop: hold and settle go over it (once per loop)
        # Shielded: a client that hangs up must not cancel a call between its credit hold and
        # its ledger row (the provider may already be serving it); the call runs to the end.
        try:
            result: GatewayResponse = await asyncio.shield(handle_call(call))
        except Exception as exc:
            if (unavailable := database_unavailable(exc)) is None:
                raise
            return _Answer.problem(unavailable, request_id), request_id
        body = b"" if result.document is not None else result.render()
        answer = _Answer(
            result.status, body, result.content_type, result.headers, document=result.document
        )
        # An idempotent replay answers with the first call's request id, header included.
        return answer, result.request_id or request_id


def _decode_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        lower = key.lower()
        # Repeated fields are one comma-separated value (RFC 9110 §5.3), as Django joins them.
        existing = next((k for k in headers if k.lower() == lower), None)
        if existing is None:
            headers[key] = text
        else:
            headers[existing] = f"{headers[existing]}, {text}"
    return headers


def _host_allowed(host: str) -> bool:
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


async def _read_body(receive: Receive, headers: CaseInsensitiveMapping[str]) -> bytes | None:
    """The whole body, or None when it is larger than GATEWAY_MAX_BODY_BYTES."""
    limit = settings.GATEWAY_MAX_BODY_BYTES
    declared = headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, answer: _Answer, request_id: str) -> None:
    length = answer.document.size if answer.document is not None else len(answer.body)
    headers = [
        (b"content-type", answer.content_type.encode("latin-1")),
        (b"content-length", str(length).encode()),
        (b"x-request-id", request_id.encode("latin-1")),
        *SECURITY_HEADERS,
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    if answer.document is None:
        await send({"type": "http.response.body", "body": answer.body})
        return
    await _send_document(send, answer.document)


async def _send_document(send: Send, document: Document) -> None:
    """The document in CHUNK_BYTES body messages (the server sends each as it comes, so the
    whole PDF is never copied into one message), the last one closing the body."""
    try:
        chunks = document.chunks(CHUNK_BYTES)
        chunk = next(chunks, b"")
        while True:
            following = next(chunks, None)
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": following is not None}
            )
            if following is None:
                return
            chunk = following
    finally:
        document.close()
