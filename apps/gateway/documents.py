"""Calls answered with a document (a PDF) instead of the JSON envelope.

The pipeline records such a call once the provider handed over the whole document; the HTTP
entry points then stream it (apps.gateway.asgi_calls in 64 KiB body messages, the Django-side
ViewSet, apps.gateway.views, as a FileResponse). Errors stay application/problem+json.

A document reaches the client only in the response to its own synchronous HTTP call. The
other channels cannot hand one back, so such methods refuse them at admission, before
anything is held or charged (a call is never charged for a result the client cannot get):

- Prefer: respond-async: the stored result of a background call is JSON;
- the websocket call channel and the message queue answer in JSON messages;
- Idempotency-Key: a replay answers the stored first answer, and documents are not stored;
- the response cache: MethodSpec refuses `cacheable` for such methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.billing.idempotency import idempotency_key_from
from apps.catalog.documents import Document
from apps.catalog.registry import MethodSpec
from apps.core.errors import InvalidRequest
from apps.ledger.models import LedgerEntry


def document_call_check(
    spec: MethodSpec,
    *,
    channel: str,
    respond_async: bool,
    headers: Mapping[str, str],
) -> None:
    """Refuse (400) a call to a document method on a channel that could not deliver it."""
    if not spec.binary:
        return
    what = f"{spec.key} answers {spec.media_type}, which only the HTTP response to the call "
    if respond_async:
        raise InvalidRequest(
            what + "can carry: call it without 'Prefer: respond-async' and read the response."
        )
    if channel in (LedgerEntry.Channel.WS, LedgerEntry.Channel.MQ):
        raise InvalidRequest(what + f"can carry, not the {channel} channel: call it over HTTP.")
    if idempotency_key_from(headers) is not None:
        raise InvalidRequest(
            what + "can carry, and it is not stored for replays: call it without an "
            "Idempotency-Key."
        )


def document_of(spec: MethodSpec, data: dict[str, Any]) -> Document:
    """The document an adapter of a document method returned."""
    document = data["document"]
    if not isinstance(document, Document) or document.media_type != spec.media_type:
        raise TypeError(f"an adapter of {spec.key} must return {{'document': Document}}")
    return document


def document_headers(document: Document) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{document.filename}.{_extension(document)}"'
    }


def document_summary(spec: MethodSpec, request_id: str, document: Document) -> dict[str, Any]:
    """What the call's JSON body would have said: kept on the response for logs and events."""
    return {
        "request_id": request_id,
        "service": spec.service,
        "method": spec.name,
        "status": "succeeded",
        "media_type": document.media_type,
        "bytes": document.size,
    }


def _extension(document: Document) -> str:
    return {"application/pdf": "pdf"}.get(document.media_type, "bin")
