"""The answers a call gives: its success envelope (or document), a replay, a problem; and
the refusal a failure inside the gateway turns into."""

from __future__ import annotations

import logging
from typing import Any

from apps.billing.idempotency import Replay
from apps.core.errors import GatewayError, database_unavailable
from apps.core.money import money_str
from apps.core.problems import problem_body
from apps.gateway.documents import document_headers, document_of, document_summary
from apps.gateway.stages import Admission, Admitted, GatewayResponse, Refused

logger = logging.getLogger(__name__)


def success_response(
    call: Admitted, data: dict[str, Any], provider: str, *, cache: str | None
) -> GatewayResponse:
    spec = call.route.spec
    headers = {"X-Provider": provider, "X-Price": money_str(call.price)}
    if cache is not None:
        headers["X-Cache"] = cache
    if spec.binary:
        document = document_of(spec, data)
        return GatewayResponse(
            status=spec.success_status,
            body=document_summary(spec, call.request.request_id, document),
            headers={**headers, **document_headers(document)},
            content_type=document.media_type,
            document=document,
        )
    return GatewayResponse(
        status=spec.success_status,
        body={
            "request_id": call.request.request_id,
            "service": spec.service,
            "method": spec.name,
            "status": "succeeded",
            "data": data,
        },
        headers=headers,
    )


def replay_response(replay: Replay) -> GatewayResponse:
    error = replay.body.get("type") is not None and replay.status >= 400
    return GatewayResponse(
        status=replay.status,
        body=replay.body,
        headers={**replay.headers, "Idempotent-Replayed": "true"},
        content_type="application/problem+json" if error else "application/json",
        request_id=replay.request_id,
    )


def error_response(request_id: str, error: GatewayError) -> GatewayResponse:
    return GatewayResponse(
        status=error.status,
        body=problem_body(error, request_id),
        headers=dict(error.headers),
        content_type="application/problem+json",
    )


def refusal(call: Admission | Admitted, exc: Exception) -> Refused:
    """The call answered with `exc` as a problem: a GatewayError as it is, the database being
    away as a 503, anything else as the gateway's own failure (logged, never shown)."""
    error = exc if isinstance(exc, GatewayError) else database_unavailable(exc)
    if error is None:
        logger.exception("call %s failed inside the gateway", call.request.request_id)
        error = GatewayError("The gateway failed to handle this call.")
    return Refused(call=call, response=error_response(call.request.request_id, error), error=error)
