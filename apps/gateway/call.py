"""A call as the pipeline carries it, whatever way it arrived, and the answers it gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apps.accounts.authentication import Principal
from apps.billing.idempotency import (
    Replay,
)
from apps.billing.pricebook import PriceBook
from apps.billing.ratelimits import FreeAllowance
from apps.billing.services import HeldCredit
from apps.catalog.registry import Preparation
from apps.core.errors import (
    GatewayError,
)
from apps.core.money import ZERO, money_str
from apps.core.problems import problem_body
from apps.gateway.documents import (
    document_headers,
    document_of,
    document_summary,
)
from apps.gateway.stages import GatewayRequest, GatewayResponse
from apps.routing.executor import CallFailed
from apps.routing.routes import MethodRoute


@dataclass
class Call:
    """What the pipeline has learned about a call so far, for its ledger row."""

    request: GatewayRequest
    started: float
    principal: Principal | None = None
    route: MethodRoute | None = None
    pricing: PriceBook | None = None
    country: str = ""
    price: Decimal = ZERO  # what the call is charged if it is billable (0 for a free call)
    hold: HeldCredit | None = None
    free: FreeAllowance | None = None  # set when the call took one of the month's free calls
    rate_headers: dict[str, str] = field(default_factory=dict)
    idempotency_id: int | None = None
    # A background run: the attempts of its earlier runs (they go on the one ledger row), and
    # the step that marks its record final, in the ledger row's transaction (False when
    # another delivery of the task settled it first: then nothing is recorded twice).
    prior_attempts: list[dict[str, Any]] = field(default_factory=list)
    settle_once: Callable[[GatewayResponse, list[dict[str, Any]]], bool] | None = None
    async_call_id: int | None = None  # a background run: its AsyncCall, for a pending settle
    retry_if: Callable[[CallFailed], bool] | None = None
    # What the method's prepare hook decided (its pin, its routing country), once it ran.
    prepared: Preparation | None = None


class RetryLater(Exception):
    """A background run met a provider fault that another run may get past; nothing recorded."""

    def __init__(self, failed: CallFailed) -> None:
        self.failed = failed
        super().__init__(str(failed))


def success_response(
    call: Call, data: dict[str, Any], provider: str, *, cache: str | None
) -> GatewayResponse:
    assert call.route is not None
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


def error_response(call: Call, error: GatewayError) -> GatewayResponse:
    return GatewayResponse(
        status=error.status,
        body=problem_body(error, call.request.request_id),
        headers=dict(error.headers),
        content_type="application/problem+json",
    )
