"""Admitting a call: everything that can answer at once (a 4xx, an idempotent replay).

GatewayRequest -> Admitted | Replayed | Refused (apps.gateway.stages); each step below returns
a new Admission, so a call refused part way is recorded with what was known of it.

authenticate -> resolve method -> price (plan, country, negotiated deal) -> rate limits and
free calls (one Redis round trip) -> validate payload -> idempotency (only with an
Idempotency-Key) -> the method's prepare hook -> credit hold
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
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
from apps.billing.services import HeldCredit, acredit_hold
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
from apps.gateway.documents import (
    document_call_check,
)
from apps.gateway.responses import refusal, replay_response
from apps.gateway.snapshot import Snapshot, current_snapshot
from apps.gateway.stages import Admission, Admitted, GatewayRequest, Refused, Replayed
from apps.ledger.selectors import ledger_free_calls_used
from apps.observability.spans import admission_traced
from apps.routing.routes import MethodRoute

logger = logging.getLogger(__name__)

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# What a service or method name can be (the URL's slugs; the ledger's columns hold 50).
_NAME = re.compile(r"[-a-zA-Z0-9_]{1,50}")


@admission_traced
async def admit_call(request: GatewayRequest, *, started: float) -> Admitted | Replayed | Refused:
    """Everything that can answer at once: a 4xx (Refused, with what was known of the call),
    an idempotent replay, or the call Admitted with its payload validated and credit held."""
    admission = Admission(request=request, started=started)
    try:
        # First, before anyone is known: a name that is no slug is never written anywhere.
        names_check(request.service, request.method)
        catalog_version, principals_version = await state.read_versions(
            CATALOG_VERSION, PRINCIPALS_VERSION
        )
        principal = request.principal
        if principal is None:
            principal = await authenticate_headers(request.headers, version=principals_version)
        admission = replace(admission, principal=principal)
        if request.callback_url and not request.respond_async:
            raise InvalidRequest("A callback URL is only used with 'Prefer: respond-async'.")
        snapshot = await current_snapshot(catalog_version)
        route = resolve(snapshot, request.service, request.method)
        admission = replace(admission, route=route)
        document_call_check(
            route.spec,
            channel=request.channel,
            respond_async=request.respond_async,
            headers=request.headers,
        )
        country = _requester_country(principal, request.headers)
        price = _price(snapshot.pricing, principal, route, country)
        admission, limited = await _counted(admission, snapshot.pricing, country)
        if limited is not None:
            raise limited
        payload = validate(route, request.body)
        admission, replay = await _idempotency(admission, payload)
        if replay is not None:
            return replay
        prepared = await prepare(route, payload, principal) if route.spec.prepare else None
        if admission.free is not None:
            price = ZERO
        admission = replace(admission, price=price, hold=await _hold(admission, price))
    except Exception as exc:
        return refusal(admission, exc)
    return _admitted(admission, snapshot.pricing, payload, prepared)


def _admitted(
    admission: Admission,
    pricing: PriceBook,
    payload: dict[str, Any],
    prepared: Preparation | None,
) -> Admitted:
    assert admission.principal is not None and admission.route is not None
    return Admitted(
        request=admission.request,
        started=admission.started,
        principal=admission.principal,
        route=admission.route,
        pricing=pricing,
        payload=payload,
        country=admission.country,
        price=admission.price,
        hold=admission.hold,
        free=admission.free,
        rate_headers=admission.rate_headers,
        idempotency_id=admission.idempotency_id,
        prepared=prepared,
    )


def _price(pricing: PriceBook, principal: Principal, route: MethodRoute, country: str) -> Decimal:
    price = pricing.price(
        plan_id=principal.plan_id,
        client_id=principal.client_id,
        method=route.key,
        country=country,
    )
    if price is None:
        raise PermissionDenied(f"The plan of {principal.client_slug} does not include {route.key}.")
    return price


async def _idempotency(
    admission: Admission, payload: dict[str, Any]
) -> tuple[Admission, Replayed | None]:
    """With an Idempotency-Key: the call's key taken, or the first call's answer to replay."""
    request, principal, route = admission.request, admission.principal, admission.route
    assert principal is not None and route is not None
    key = idempotency_key_from(request.headers)
    if key is None:
        return admission, None
    begun = await sync_to_async(then_release_connection(idempotency_begin))(
        client_id=principal.client_id,
        method=route.key,
        key=key,
        payload_hash=payload_fingerprint(payload),
        request_id=request.request_id,
        lease=timedelta(milliseconds=route.policy.deadline_ms) + LEASE_MARGIN,
    )
    if isinstance(begun, Replay):
        if admission.free is not None:
            await free_call_release(admission.free)
        return admission, Replayed(call=admission, response=replay_response(begun))
    return replace(admission, idempotency_id=begun), None


async def _hold(admission: Admission, price: Decimal) -> HeldCredit | None:
    """The call's price held on the client's credit (nothing for a free call)."""
    principal, route = admission.principal, admission.route
    assert principal is not None and route is not None
    if price <= 0:
        return None
    hold = await acredit_hold(
        client_id=principal.client_id,
        amount=price,
        request_id=admission.request.request_id,
        method=route.key,
    )
    if hold is None:
        raise CreditLimitExceeded(
            f"Charging {money_str(price)} would exceed the credit limit of {principal.client_slug}."
        )
    return hold


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


async def _counted(
    admission: Admission, pricing: PriceBook, country: str
) -> tuple[Admission, RateLimited | None]:
    """Count the call against the client's rate limits and take a free call if one is left:
    the call with its country, rate headers and free call, and the refusal when over a
    limit."""
    principal, route = admission.principal, admission.route
    assert principal is not None and route is not None
    method = route.key
    limits = pricing.limits(plan_id=principal.plan_id, client_id=principal.client_id, method=method)
    allowance = pricing.free_allowance(plan_id=principal.plan_id, method=method)
    free = (
        FreeAllowance(principal.client_id, method, allowance, month_start()) if allowance else None
    )
    if not limits and free is None:
        return replace(admission, country=country), None
    admitted = await rate_admit(
        client_id=principal.client_id, limits=limits, free=free, seed_free=_free_calls_used
    )
    if not admitted.allowed:
        admission = replace(admission, country=country, rate_headers=admitted.headers())
        window = admitted.windows[0]
        scope = window.limit.scope
        over = "in total" if scope == TOTAL_SCOPE else f"to {scope}"
        return admission, RateLimited(
            f"{principal.client_slug} may make {window.limit} calls {over}; "
            f"retry in {window.reset_s} s.",
            headers={"Retry-After": str(window.reset_s)},
        )
    free = free if admitted.free_call else None
    return replace(admission, country=country, rate_headers=admitted.headers(), free=free), None


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
