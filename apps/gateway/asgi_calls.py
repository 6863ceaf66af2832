"""POST /api/v1/services/{service}/{method}/ served straight from ASGI, before Django.

Django's request stack costs a call more than the gateway's own work: sync-only middleware
puts every request on a thread of its own and hands each step back and forth between that
thread and the event loop (docs/benchmarks.md measured ~9 ms of CPU per call through it,
~3.5 ms here). Everything else (admin, schema, the other APIs) still goes to Django.

A thin adapter: it reads the ASGI request and sends the answer; what is checked, what the
pipeline gets and what is answered is apps.gateway.http's, shared with the Django-side entry
(apps.gateway.views).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.utils.datastructures import CaseInsensitiveMapping

from apps.catalog.documents import CHUNK_BYTES, Document
from apps.core.asyncdb import open_db_pool
from apps.core.errors import GatewayError
from apps.core.log_context import call_logged
from apps.core.middleware import request_id_for
from apps.gateway.http import (
    CALL_PATH,
    HttpAnswer,
    answer_call,
    gateway_request_from_http,
    problem_answer,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


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
            answer = await _answer(scope, receive, headers, request_id)
            await _send(send, answer)
            log.status = answer.status


async def _answer(
    scope: Scope, receive: Receive, headers: CaseInsensitiveMapping[str], request_id: str
) -> HttpAnswer:
    # Only a POST's body is read: anything else is refused (405) without it.
    body = await _read_body(receive, headers) if scope["method"] == "POST" else b""
    client = scope.get("client")
    try:
        request = gateway_request_from_http(
            http_method=scope["method"],
            host=headers.get("Host", ""),
            path=scope["path"],
            headers=headers,
            body=body,
            client_ip=client[0] if client else None,
            request_id=request_id,
        )
    except GatewayError as error:
        return problem_answer(error, request_id)
    await open_db_pool()  # the server's loop: hold and settle go over it (once per loop)
    return await answer_call(request)


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


async def _read_body(receive: Receive, headers: CaseInsensitiveMapping[str]) -> bytes | None:
    """The whole body, or None as soon as it is larger than GATEWAY_MAX_BODY_BYTES."""
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


async def _send(send: Send, answer: HttpAnswer) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
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
