"""Admitting a call: everything that can answer at once (a 4xx, an idempotent replay).

authenticate -> resolve method -> price (plan, country, negotiated deal) -> rate limits and
free calls (one Redis round trip) -> validate payload -> idempotency (only with an
Idempotency-Key) -> the method's prepare hook -> credit hold
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async

from apps.accounts.authentication import Principal, authenticate_headers
from apps.accounts.signals import PRINCIPALS_VERSION
from apps.billing.idempotency import (
    LEASE_MARGIN,
    Replay,
    idempotency_begin,
    idempotency_key_from,
    payload_fingerprint,
)
from apps.billing.models import TOTAL_SCOPE
from apps.billing.pricebook import PriceBook
from apps.billing.ratelimits import FreeAllowance, free_call_release, month_start, rate_admit
from apps.billing.services import acredit_hold
from apps.catalog.registry import Preparation
from apps.catalog.services import CATALOG_VERSION
from apps.core import jsonbytes, state
from apps.core.db import then_release_connection
from apps.core.errors import (
    CreditLimitExceeded,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from apps.core.jsonbytes import JSONTooDeep
from apps.core.money import ZERO, money_str
from apps.core.problems import flatten_validation_errors
from apps.gateway.call import Call, GatewayResponse, replay_response
from apps.gateway.documents import (
    document_call_check,
)
from apps.gateway.snapshot import Snapshot, current_snapshot
from apps.ledger.selectors import ledger_free_calls_used
from apps.observability.spans import admission_traced
from apps.routing.routes import MethodRoute

logger = logging.getLogger(__name__)

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# What a service or method name can be (the URL's slugs; the ledger's columns hold 50).
_NAME = re.compile(r"[-a-zA-Z0-9_]{1,50}")


@admission_traced
async def admit_call(call: Call) -> dict[str, Any] | GatewayResponse:
    """Everything that can answer at once (4xx, a replay): the validated payload, credit held."""
    request = call.request
    # First, before anyone is known: a name that is no slug is never written anywhere.
    names_check(request.service, request.method)
    catalog_version, principals_version = await state.read_versions(
        CATALOG_VERSION, PRINCIPALS_VERSION
    )
    if request.principal is not None:
        call.principal = principal = request.principal
    else:
        call.principal = principal = await authenticate_headers(
            request.headers, version=principals_version
        )
    if request.callback_url and not request.respond_async:
        raise InvalidRequest("A callback URL is only used with 'Prefer: respond-async'.")
    snapshot = await current_snapshot(catalog_version)
    call.route = route = resolve(snapshot, request.service, request.method)
    document_call_check(
        route.spec,
        channel=request.channel,
        respond_async=request.respond_async,
        headers=request.headers,
    )
    call.country = _requester_country(principal, request.headers)
    call.pricing = pricing = snapshot.pricing
    price = pricing.price(
        plan_id=principal.plan_id,
        client_id=principal.client_id,
        method=route.key,
        country=call.country,
    )
    if price is None:
        raise PermissionDenied(f"The plan of {principal.client_slug} does not include {route.key}.")

    await _admit(call, pricing)
    payload = validate(route, request.body)
    key = idempotency_key_from(request.headers)
    if key is not None:
        begun = await sync_to_async(then_release_connection(idempotency_begin))(
            client_id=principal.client_id,
            method=route.key,
            key=key,
            payload_hash=payload_fingerprint(payload),
            request_id=request.request_id,
            lease=timedelta(milliseconds=route.policy.deadline_ms) + LEASE_MARGIN,
        )
        if isinstance(begun, Replay):
            if call.free is not None:
                await free_call_release(call.free)
            return replay_response(begun)
        call.idempotency_id = begun

    if route.spec.prepare is not None:
        call.prepared = await prepare(route, payload, principal)

    call.price = ZERO if call.free is not None else price
    if call.price > 0:
        call.hold = await acredit_hold(
            client_id=principal.client_id,
            amount=call.price,
            request_id=request.request_id,
            method=route.key,
        )
        if call.hold is None:
            raise CreditLimitExceeded(
                f"Charging {money_str(call.price)} would exceed the credit limit of "
                f"{principal.client_slug}."
            )
    return payload


async def prepare(route: MethodRoute, payload: dict[str, Any], principal: Principal) -> Preparation:
    assert route.spec.prepare is not None
    return await sync_to_async(then_release_connection(route.spec.prepare))(
        payload, principal.client_id
    )


def names_check(service: str, method: str) -> None:
    """InvalidRequest (naming the field) unless both are slugs: the websocket and the queue
    pass names as sent, and an unknown method's names would go into its ledger row."""
    errors = {
        field: ["Must be a slug: 1 to 50 letters, digits, hyphens or underscores."]
        for field, name in (("service", service), ("method", method))
        if not (isinstance(name, str) and _NAME.fullmatch(name))
    }
    if errors:
        raise InvalidRequest("The service or method is not a valid name.", errors=errors)


def resolve(snapshot: Snapshot, service: str, method: str) -> MethodRoute:
    route = snapshot.methods.get(f"{service}.{method}")
    if route is None:
        raise NotFound(f"There is no enabled method {service}.{method}.")
    return route


async def _admit(call: Call, pricing: PriceBook) -> None:
    """Count the call against the client's rate limits; take a free call if one is left."""
    assert call.principal is not None and call.route is not None
    principal, method = call.principal, call.route.key
    limits = pricing.limits(plan_id=principal.plan_id, client_id=principal.client_id, method=method)
    allowance = pricing.free_allowance(plan_id=principal.plan_id, method=method)
    free = (
        FreeAllowance(principal.client_id, method, allowance, month_start()) if allowance else None
    )
    if not limits and free is None:
        return
    admission = await rate_admit(
        client_id=principal.client_id, limits=limits, free=free, seed_free=_free_calls_used
    )
    call.rate_headers = admission.headers()
    if not admission.allowed:
        window = admission.windows[0]
        scope = window.limit.scope
        over = "in total" if scope == TOTAL_SCOPE else f"to {scope}"
        raise RateLimited(
            f"{principal.client_slug} may make {window.limit} calls {over}; "
            f"retry in {window.reset_s} s.",
            headers={"Retry-After": str(window.reset_s)},
        )
    if admission.free_call:
        call.free = free


async def _free_calls_used(free: FreeAllowance) -> int:
    return await sync_to_async(then_release_connection(ledger_free_calls_used))(
        client_id=free.client_id, method=free.method, since=free.month_start
    )


def validate(route: MethodRoute, body: bytes) -> dict[str, Any]:
    try:
        # Decimals stay exact: a JSON number like 10.50 never passes through a float.
        payload = jsonbytes.loads_untrusted(body or b"{}", parse_float=Decimal)
    except JSONTooDeep as exc:
        raise InvalidRequest(f"The body is refused: {exc}.") from exc
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
