"""Admitting a call: everything that can answer at once (a 4xx, an idempotent replay).

GatewayRequest -> Admitted | Replayed | Refused (apps.gateway.stages). A call refused part way
is refused with what was known of it (an Admission): its free call and key are given back.

authenticate -> resolve method -> price (plan, country, negotiated deal) -> rate limits and
free calls (one Redis round trip) -> validate payload -> idempotency (only with an
Idempotency-Key) -> the method's prepare hook -> credit hold
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from apps.core.db import then_release_connection
from apps.core.errors import (
    CreditLimitExceeded,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from apps.core.money import ZERO, money_str
from apps.gateway.checks import names_check, requester_country, validate
from apps.gateway.documents import (
    document_call_check,
)
from apps.gateway.responses import refusal, replay_response
from apps.gateway.snapshot import Snapshot, current_snapshot, last_snapshot
from apps.gateway.stages import Admission, Admitted, GatewayRequest, Refused, Replayed
from apps.ledger.selectors import ledger_free_calls_used
from apps.observability.spans import admission_traced
from apps.routing.breakers import versions_and_breakers
from apps.routing.routes import MethodRoute

logger = logging.getLogger(__name__)

__all__ = ["admit_call", "prepare", "resolve"]


@admission_traced
async def admit_call(request: GatewayRequest, *, started: float) -> Admitted | Replayed | Refused:
    """Everything that can answer at once: a 4xx (Refused, with what was known of the call),
    an idempotent replay, or the call Admitted with its payload validated and credit held."""
    principal: Principal | None = None
    route: MethodRoute | None = None
    counted = Counted()
    country, idempotency_id = "", None

    def known() -> Admission:
        """What admission has learned so far: what a refusal records and gives back."""
        return Admission(
            request=request,
            started=started,
            principal=principal,
            route=route,
            country=country,
            free=counted.free,
            rate_headers=counted.headers,
            idempotency_id=idempotency_id,
        )

    try:
        # First, before anyone is known: a name that is no slug is never written anywhere.
        names_check(request.service, request.method)
        catalog_version, principal = await _principal(request)
        if request.callback_url and not request.respond_async:
            raise InvalidRequest("A callback URL is only used with 'Prefer: respond-async'.")
        snapshot = await current_snapshot(catalog_version)
        route = resolve(snapshot, request.service, request.method)
        document_call_check(
            route.spec,
            channel=request.channel,
            respond_async=request.respond_async,
            headers=request.headers,
        )
        country = requester_country(principal, request.headers)
        price = _price(snapshot.pricing, principal, route, country)
        counted = await _counted(snapshot.pricing, principal, route)
        if counted.refusal is not None:
            raise counted.refusal
        payload = validate(route, request.body)
        begun = await _idempotency_begin(request, principal, route, payload)
        if isinstance(begun, Replay):
            if counted.free is not None:
                await free_call_release(counted.free)
            return Replayed(call=known(), response=replay_response(begun))
        idempotency_id = begun
        prepared = await prepare(route, payload, principal) if route.spec.prepare else None
        price = ZERO if counted.free is not None else price
        hold = await _hold(request, principal, route, price)
    except Exception as exc:
        return refusal(known(), exc)
    return _admitted(
        known(),
        pricing=snapshot.pricing,
        payload=payload,
        price=price,
        hold=hold,
        prepared=prepared,
    )


def _admitted(
    known: Admission,
    *,
    pricing: PriceBook,
    payload: dict[str, Any],
    price: Decimal,
    hold: HeldCredit | None,
    prepared: Preparation | None,
) -> Admitted:
    assert known.principal is not None and known.route is not None
    return Admitted(
        request=known.request,
        started=known.started,
        principal=known.principal,
        route=known.route,
        pricing=pricing,
        payload=payload,
        country=known.country,
        price=price,
        hold=hold,
        free=known.free,
        rate_headers=known.rate_headers,
        idempotency_id=known.idempotency_id,
        prepared=prepared,
    )


async def _principal(request: GatewayRequest) -> tuple[int, Principal]:
    """The catalog's version and the caller: named by the channel (a queue message) or
    authenticated from the headers. One Redis round trip reads the versions with the
    principals' and the breakers of the method as this process's snapshot has it, for the
    executor (apps.routing.breaker_peek)."""
    known = last_snapshot()
    route = known.methods.get(f"{request.service}.{request.method}") if known else None
    catalog_version, principals_version = await versions_and_breakers(
        (CATALOG_VERSION, PRINCIPALS_VERSION), route
    )
    if request.principal is not None:
        return catalog_version, request.principal
    principal = await authenticate_headers(request.headers, version=principals_version)
    return catalog_version, principal


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


async def _idempotency_begin(
    request: GatewayRequest, principal: Principal, route: MethodRoute, payload: dict[str, Any]
) -> int | Replay | None:
    """With an Idempotency-Key: the call's key taken (its record id), or the first call's
    answer to replay; None without a key."""
    key = idempotency_key_from(request.headers)
    if key is None:
        return None
    return await sync_to_async(then_release_connection(idempotency_begin))(
        client_id=principal.client_id,
        method=route.key,
        key=key,
        payload_hash=payload_fingerprint(payload),
        request_id=request.request_id,
        lease=timedelta(milliseconds=route.policy.deadline_ms) + LEASE_MARGIN,
    )


async def _hold(
    request: GatewayRequest, principal: Principal, route: MethodRoute, price: Decimal
) -> HeldCredit | None:
    """The call's price held on the client's credit (nothing for a free call)."""
    if price <= 0:
        return None
    hold = await acredit_hold(
        client_id=principal.client_id,
        amount=price,
        request_id=request.request_id,
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


def resolve(snapshot: Snapshot, service: str, method: str) -> MethodRoute:
    route = snapshot.methods.get(f"{service}.{method}")
    if route is None:
        raise NotFound(f"There is no enabled method {service}.{method}.")
    return route


@dataclass(frozen=True)
class Counted:
    """The rate limits' verdict: the headers that tell the client where it stands, the free
    call taken (if one was), the refusal when over a limit."""

    headers: Mapping[str, str] = field(default_factory=dict)
    free: FreeAllowance | None = None
    refusal: RateLimited | None = None


async def _counted(pricing: PriceBook, principal: Principal, route: MethodRoute) -> Counted:
    """Count the call against the client's rate limits; take a free call if one is left."""
    method = route.key
    limits = pricing.limits(plan_id=principal.plan_id, client_id=principal.client_id, method=method)
    allowance = pricing.free_allowance(plan_id=principal.plan_id, method=method)
    free = (
        FreeAllowance(principal.client_id, method, allowance, month_start()) if allowance else None
    )
    if not limits and free is None:
        return Counted()
    admitted = await rate_admit(
        client_id=principal.client_id, limits=limits, free=free, seed_free=_free_calls_used
    )
    if admitted.allowed:
        return Counted(headers=admitted.headers(), free=free if admitted.free_call else None)
    window = admitted.windows[0]
    scope = window.limit.scope
    over = "in total" if scope == TOTAL_SCOPE else f"to {scope}"
    limited = RateLimited(
        f"{principal.client_slug} may make {window.limit} calls {over}; "
        f"retry in {window.reset_s} s.",
        headers={"Retry-After": str(window.reset_s)},
    )
    return Counted(headers=admitted.headers(), refusal=limited)


async def _free_calls_used(free: FreeAllowance) -> int:
    return await sync_to_async(then_release_connection(ledger_free_calls_used))(
        client_id=free.client_id, method=free.method, since=free.month_start
    )
