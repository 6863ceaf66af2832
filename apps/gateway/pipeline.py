"""The call pipeline: one path for every way a call arrives (HTTP now; async, ws, mq later).

authenticate -> resolve method -> validate payload -> price and credit hold
-> route (strategy, failover) -> settle: ledger row and charge commit together
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from apps.accounts.authentication import Principal, authenticate_headers
from apps.accounts.signals import PRINCIPALS_VERSION
from apps.billing.services import credit_hold
from apps.catalog.providers import CallContext
from apps.catalog.services import CATALOG_VERSION
from apps.core import state
from apps.core.errors import (
    CreditLimitExceeded,
    GatewayError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from apps.core.money import ZERO, money_str
from apps.core.problems import flatten_validation_errors, problem_body
from apps.gateway.snapshot import Snapshot, current_snapshot
from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_record_call
from apps.routing.executor import CallFailed, CallOutcome, execute
from apps.routing.routes import MethodRoute

logger = logging.getLogger(__name__)

_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass
class GatewayRequest:
    """A call, whatever way it arrived."""

    request_id: str
    service: str
    method: str
    body: bytes
    headers: Mapping[str, str]
    channel: str = LedgerEntry.Channel.HTTP
    source_ip: str | None = None


@dataclass
class GatewayResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def render(self) -> bytes:
        return json.dumps(self.body, cls=DjangoJSONEncoder).encode()


@dataclass
class _Call:
    """What the pipeline has learned about a call so far, for its ledger row."""

    request: GatewayRequest
    started: float
    principal: Principal | None = None
    route: MethodRoute | None = None
    country: str = ""
    price: Decimal = ZERO
    held: Decimal = ZERO


async def handle_call(request: GatewayRequest) -> GatewayResponse:
    call = _Call(request=request, started=time.monotonic())
    try:
        return await _run(call)
    except GatewayError as error:
        if call.principal is not None:
            await _record(call, error=error)
        return _error_response(call, error)
    except Exception:
        logger.exception("call %s failed inside the gateway", request.request_id)
        internal = GatewayError("The gateway failed to handle this call.")
        if call.principal is not None:
            await _record(call, error=internal)
        return _error_response(call, internal)


async def _run(call: _Call) -> GatewayResponse:
    request = call.request
    catalog_version, principals_version = await state.read_versions(
        CATALOG_VERSION, PRINCIPALS_VERSION
    )
    call.principal = principal = await authenticate_headers(
        request.headers, version=principals_version
    )
    snapshot = await current_snapshot(catalog_version)
    call.route = route = _resolve(snapshot, request.service, request.method)
    payload = _validate(route, request.body)

    price = snapshot.price(principal.plan_id, route.key)
    if price is None:
        raise PermissionDenied(f"The plan of {principal.client_slug} does not include {route.key}.")
    call.price = price
    call.country = _requester_country(principal, request.headers)

    if not await sync_to_async(credit_hold)(client_id=principal.client_id, amount=price):
        raise CreditLimitExceeded(
            f"Charging {money_str(price)} would exceed the credit limit of {principal.client_slug}."
        )
    call.held = price

    context = CallContext(
        request_id=request.request_id,
        method=route.key,
        client=principal.client_slug,
        country=call.country,
    )
    try:
        outcome = await execute(route=route, payload=payload, context=context)
    except CallFailed as failed:
        charged = price if snapshot.charge_failed_calls.get(principal.plan_id) else ZERO
        await _record(call, error=failed.error, failed=failed, charged=charged)
        assert isinstance(failed.error, GatewayError)
        return _error_response(call, failed.error)

    await _record(call, outcome=outcome, charged=price)
    return GatewayResponse(
        status=route.spec.success_status,
        body={
            "request_id": request.request_id,
            "service": route.spec.service,
            "method": route.spec.name,
            "status": "succeeded",
            "data": outcome.data,
        },
        headers={"X-Provider": outcome.offering.provider.slug, "X-Price": money_str(price)},
    )


def _resolve(snapshot: Snapshot, service: str, method: str) -> MethodRoute:
    route = snapshot.methods.get(f"{service}.{method}")
    if route is None:
        raise NotFound(f"There is no enabled method {service}.{method}.")
    return route


def _validate(route: MethodRoute, body: bytes) -> dict[str, Any]:
    try:
        # Decimals stay exact: a JSON number like 10.50 never passes through a float.
        payload = json.loads(body or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(payload, dict):
        raise ValidationFailed(errors={"non_field_errors": ["The payload must be a JSON object."]})
    serializer = route.spec.request(data=payload)
    valid = serializer.is_valid()
    # A misspelt optional field would otherwise be ignored without a word.
    unknown = {name: ["Unknown field."] for name in payload if name not in serializer.fields}
    if not valid or unknown:
        errors = flatten_validation_errors(serializer.errors) if not valid else {}
        raise ValidationFailed(errors={**errors, **unknown})
    return dict(serializer.validated_data)


def _requester_country(principal: Principal, headers: Mapping[str, str]) -> str:
    """The client's country, or X-Requester-Country from a trusted internal caller."""
    if principal.is_internal:
        sent = headers.get("X-Requester-Country", "").strip().upper()
        if sent:
            if not _COUNTRY.match(sent):
                raise InvalidRequest("X-Requester-Country must be an ISO 3166-1 alpha-2 code.")
            return sent
    return principal.country


async def _record(
    call: _Call,
    *,
    outcome: CallOutcome | None = None,
    error: Exception | None = None,
    failed: CallFailed | None = None,
    charged: Decimal = ZERO,
) -> None:
    assert call.principal is not None
    request, principal = call.request, call.principal
    service, _, method = (call.route.key if call.route else "").partition(".")
    status: str
    after = None
    if outcome is not None:
        assert call.route is not None
        status, http_status = LedgerEntry.Status.SUCCEEDED, call.route.spec.success_status
        hook, data = call.route.spec.on_recorded, outcome.data
        if hook is not None:

            def after(entry: LedgerEntry) -> None:
                hook(entry, data)

        provider, cost = outcome.offering.provider.slug, outcome.cost
        attempts, decision = [a.as_dict() for a in outcome.attempts], outcome.decision
    else:
        assert isinstance(error, GatewayError)
        status, http_status = error.ledger_status, error.status
        provider, cost = "", ZERO
        attempts = [a.as_dict() for a in failed.attempts] if failed else []
        decision = failed.decision if failed else {}
    try:
        await sync_to_async(ledger_record_call)(
            held=call.held,
            after=after,
            request_id=request.request_id,
            client_id=principal.client_id,
            api_key_id=principal.key_id,
            service=(service or request.service)[:50],
            method=(method or request.method)[:50],
            provider=provider,
            status=status,
            http_status=http_status,
            error_type=error.code if isinstance(error, GatewayError) else "",
            error_detail=str(error.detail) if isinstance(error, GatewayError) else "",
            cost=cost,
            price=charged,
            currency=settings.ACCOUNTING_CURRENCY,
            attempts=attempts,
            routing=decision,
            latency_ms=int((time.monotonic() - call.started) * 1000),
            channel=request.channel,
            source_ip=request.source_ip,
            country=call.country or principal.country,
        )
    except Exception:
        # The hold stays taken: money is never released without its ledger row.
        logger.exception("could not record the ledger row of %s", request.request_id)
        raise


def _error_response(call: _Call, error: GatewayError) -> GatewayResponse:
    return GatewayResponse(
        status=error.status,
        body=problem_body(error, call.request.request_id),
        headers=dict(error.headers),
        content_type="application/problem+json",
    )
