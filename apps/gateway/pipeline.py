"""The call pipeline: one path for every way a call arrives (HTTP now; async, ws, mq later).

authenticate -> resolve method -> price (plan, country, negotiated deal)
-> rate limits and free calls (one Redis round trip) -> validate payload
-> idempotency (only with an Idempotency-Key) -> credit hold -> response cache (cacheable
methods with a TTL) -> route (strategy, failover) -> settle: the ledger row, the charge,
the release of the hold and the stored idempotent answer commit together
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.accounts.authentication import Principal, authenticate_headers
from apps.accounts.signals import PRINCIPALS_VERSION
from apps.billing.idempotency import (
    LEASE_MARGIN,
    Replay,
    idempotency_begin,
    idempotency_complete,
    idempotency_key_from,
    idempotency_release,
    payload_fingerprint,
)
from apps.billing.models import TOTAL_SCOPE
from apps.billing.pricebook import PriceBook
from apps.billing.ratelimits import FreeAllowance, free_call_release, month_start, rate_admit
from apps.billing.services import HeldCredit, credit_hold
from apps.catalog.documents import Document
from apps.catalog.providers import CallContext
from apps.catalog.registry import Preparation
from apps.catalog.services import CATALOG_VERSION
from apps.core import state
from apps.core.db import then_release_connection
from apps.core.errors import (
    CreditLimitExceeded,
    GatewayError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from apps.core.money import ZERO, money_str
from apps.core.problems import flatten_validation_errors, problem_body
from apps.gateway.cache import (
    CachedAnswer,
    response_cache_get,
    response_cache_key,
    response_cache_put,
)
from apps.gateway.documents import (
    document_call_check,
    document_headers,
    document_of,
    document_summary,
)
from apps.gateway.events import call_event, call_event_publish
from apps.gateway.snapshot import Snapshot, current_snapshot
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import ledger_free_calls_used
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
    # Set when the caller was authenticated by the way the call arrived (an MQ message
    # names its client; the channel itself is trusted): no credentials in the headers.
    principal: Principal | None = None
    # Prefer: respond-async: admit the call now, answer 202, run it in the background.
    respond_async: bool = False
    callback_url: str = ""


@dataclass
class GatewayResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # Set on an idempotent replay: the request id of the first call, which it answers with.
    request_id: str | None = None
    # A method answering a document (MethodSpec.media_type): the bytes the HTTP entry points
    # stream instead of rendering `body` (which then only summarises the call).
    document: Document | None = None

    def render(self) -> bytes:
        return json.dumps(self.body, cls=DjangoJSONEncoder).encode()


@dataclass
class _Call:
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
    retry_if: Callable[[CallFailed], bool] | None = None
    # What the method's prepare hook decided (its pin, its routing country), once it ran.
    prepared: Preparation | None = None


async def handle_call(request: GatewayRequest) -> GatewayResponse:
    call = _Call(request=request, started=time.monotonic())
    try:
        response = await _run(call)
    except GatewayError as error:
        response = _error_response(call, error)
        if call.principal is not None:
            await _record(call, response, error=error)
    except Exception:
        logger.exception("call %s failed inside the gateway", request.request_id)
        internal = GatewayError("The gateway failed to handle this call.")
        response = _error_response(call, internal)
        if call.principal is not None:
            await _record(call, response, error=internal)
    response.headers.update(call.rate_headers)
    return response


class RetryLater(Exception):
    """A background run met a provider fault that another run may get past; nothing recorded."""

    def __init__(self, failed: CallFailed) -> None:
        self.failed = failed
        super().__init__(str(failed))


async def _run(call: _Call) -> GatewayResponse:
    admitted = await _admit_call(call)
    if isinstance(admitted, GatewayResponse):
        return admitted
    if call.request.respond_async:
        from apps.gateway.background import async_call_accept

        return await async_call_accept(call, admitted)
    return await _execute(call, admitted)


async def _admit_call(call: _Call) -> dict[str, Any] | GatewayResponse:
    """Everything that can answer at once (4xx, a replay): the validated payload, credit held."""
    request = call.request
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
    call.route = route = _resolve(snapshot, request.service, request.method)
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
    payload = _validate(route, request.body)
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
            return _replay_response(begun)
        call.idempotency_id = begun

    if route.spec.prepare is not None:
        call.prepared = await _prepare(route, payload, principal)

    call.price = ZERO if call.free is not None else price
    if call.price > 0:
        # The connection goes back to the pool while the provider is awaited.
        call.hold = await sync_to_async(then_release_connection(credit_hold))(
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


async def _execute(call: _Call, payload: dict[str, Any]) -> GatewayResponse:
    """Route an admitted call and settle it: the ledger row, the charge, the hold dropped."""
    request, principal, route = call.request, call.principal, call.route
    assert principal is not None and route is not None
    pricing = call.pricing
    assert pricing is not None
    cache_ttl = route.policy.cache_ttl_s if route.spec.cacheable else None
    cache_key = response_cache_key(route.key, payload) if cache_ttl else None
    if cache_key is not None:
        cached = await response_cache_get(cache_key)
        if cached is not None:
            response = _success_response(call, cached.data, cached.provider, cache="HIT")
            await _record(call, response, cached=cached)
            return response

    prepared = call.prepared
    if prepared is None and route.spec.prepare is not None:
        # A background run: what was prepared at admission may have changed since.
        prepared = call.prepared = await _prepare(route, payload, principal)
    if prepared is not None and prepared.payload is not None:
        payload = prepared.payload
    context = CallContext(
        request_id=request.request_id,
        method=route.key,
        client=principal.client_slug,
        country=call.country,
        pinned_provider=prepared.pinned_provider if prepared else None,
        route_country=prepared.route_country if prepared else "",
        source_ip=request.source_ip,
    )
    try:
        outcome = await execute(route=route, payload=payload, context=context)
    except CallFailed as failed:
        assert isinstance(failed.error, GatewayError)
        if call.retry_if is not None and call.retry_if(failed):
            raise RetryLater(failed) from failed
        response = _error_response(call, failed.error)
        await _record(
            call,
            response,
            error=failed.error,
            failed=failed,
            billable=pricing.charge_failed_calls.get(principal.plan_id, False),
        )
        return response

    provider = outcome.offering.provider.slug
    shown = route.spec.present(provider, outcome.data) if route.spec.present else outcome.data
    response = _success_response(
        call, shown, provider, cache="MISS" if cache_key is not None else None
    )
    try:
        await _record(call, response, outcome=outcome)
    except BaseException:
        if response.document is not None:
            response.document.close()  # never handed out: its call was not recorded
        raise
    if cache_key is not None and cache_ttl:
        await response_cache_put(cache_key, data=shown, provider=provider, ttl_s=cache_ttl)
    return response


async def _prepare(
    route: MethodRoute, payload: dict[str, Any], principal: Principal
) -> Preparation:
    assert route.spec.prepare is not None
    return await sync_to_async(then_release_connection(route.spec.prepare))(
        payload, principal.client_id
    )


def _resolve(snapshot: Snapshot, service: str, method: str) -> MethodRoute:
    route = snapshot.methods.get(f"{service}.{method}")
    if route is None:
        raise NotFound(f"There is no enabled method {service}.{method}.")
    return route


async def _admit(call: _Call, pricing: PriceBook) -> None:
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
    response: GatewayResponse,
    *,
    outcome: CallOutcome | None = None,
    cached: CachedAnswer | None = None,
    error: Exception | None = None,
    failed: CallFailed | None = None,
    billable: bool | None = None,
) -> None:
    """Write the call's ledger row, charge it if billable, store its idempotent answer.

    A call is billable when it was served (by a provider or the cache), or when it failed
    and the plan charges failed calls. A free call that turns out not billable is given back.
    """
    assert call.principal is not None
    request, principal, route = call.request, call.principal, call.route
    service, _, method = (route.key if route else "").partition(".")
    served = outcome is not None or cached is not None
    billable = served if billable is None else billable
    hooks: list[Any] = []
    status: str
    if outcome is not None:
        assert route is not None
        status = LedgerEntry.Status.SUCCEEDED
        provider, cost = outcome.offering.provider.slug, outcome.cost
        attempts, decision = [a.as_dict() for a in outcome.attempts], outcome.decision
        if route.spec.on_recorded is not None:
            hook, data = route.spec.on_recorded, outcome.data
            hooks.append(lambda entry: hook(entry, data))
    elif cached is not None:
        status, provider, cost, attempts = LedgerEntry.Status.SUCCEEDED, "", ZERO, []
        stored_at = datetime.fromtimestamp(cached.stored_at, tz=UTC).isoformat()
        decision = {"cache": "hit", "origin": cached.provider, "stored_at": stored_at}
    else:
        assert isinstance(error, GatewayError)
        status, provider, cost = error.ledger_status, "", ZERO
        attempts = [a.as_dict() for a in failed.attempts] if failed else []
        decision = failed.decision if failed else {}
        if decision.get("outcome") == "unknown":
            status = LedgerEntry.Status.UNKNOWN

    if call.idempotency_id is not None:
        record_id = call.idempotency_id
        # Keep the answer whenever something happened: served, charged, or a provider tried.
        if served or billable or attempts:
            stored = {k: v for k, v in response.headers.items() if k != "Retry-After"}
            hooks.append(
                lambda entry: idempotency_complete(
                    record_id=record_id, status=response.status, body=response.body, headers=stored
                )
            )
        else:
            hooks.append(lambda entry: idempotency_release(record_id=record_id))

    def after(entry: LedgerEntry) -> None:
        for hook_ in hooks:
            hook_(entry)

    attempts = call.prior_attempts + attempts
    record_call: Callable[..., LedgerEntry | None] = ledger_record_call
    if call.settle_once is not None:
        record_call = partial(_record_once, call.settle_once, response)
    try:
        # The connection goes back to the pool after the settle too: on the ASGI endpoint no
        # request_finished signal closes it, and a broken one must not outlive its call.
        entry = await sync_to_async(then_release_connection(record_call))(
            hold=call.hold,
            after=after if hooks else None,
            request_id=request.request_id,
            client_id=principal.client_id,
            api_key_id=principal.key_id,
            service=(service or request.service)[:50],
            method=(method or request.method)[:50],
            provider=provider,
            status=status,
            http_status=response.status,
            error_type=error.code if isinstance(error, GatewayError) else "",
            error_detail=str(error.detail) if isinstance(error, GatewayError) else "",
            cost=cost,
            price=call.price if billable else ZERO,
            currency=settings.ACCOUNTING_CURRENCY,
            cached=cached is not None,
            free_call=call.free is not None and billable,
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
    call.hold = None  # settled: a second record (after a failure above) must not reuse it
    if entry is None:
        call.free = None
        return
    if settings.GATEWAY_CALL_EVENTS_ENABLED:
        await _publish_event(entry, principal.client_slug)
    if call.free is not None and not billable:
        await free_call_release(call.free)
    call.free = None


async def _publish_event(entry: LedgerEntry, client: str) -> None:
    """Other systems' feed must never fail or hold up a call that is already settled."""
    try:
        event = call_event(entry, client=client)
        await sync_to_async(call_event_publish, thread_sensitive=False)(event)
    except Exception:
        logger.exception("could not publish the call event of %s", entry.request_id)


@transaction.atomic
def _record_once(
    settle_once: Callable[[GatewayResponse, list[dict[str, Any]]], bool],
    response: GatewayResponse,
    **fields: Any,
) -> LedgerEntry | None:
    if not settle_once(response, fields["attempts"]):
        return None  # another delivery of this background call settled it first
    return ledger_record_call(**fields)


def _success_response(
    call: _Call, data: dict[str, Any], provider: str, *, cache: str | None
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


def _replay_response(replay: Replay) -> GatewayResponse:
    error = replay.body.get("type") is not None and replay.status >= 400
    return GatewayResponse(
        status=replay.status,
        body=replay.body,
        headers={**replay.headers, "Idempotent-Replayed": "true"},
        content_type="application/problem+json" if error else "application/json",
        request_id=replay.request_id,
    )


def _error_response(call: _Call, error: GatewayError) -> GatewayResponse:
    return GatewayResponse(
        status=error.status,
        body=problem_body(error, call.request.request_id),
        headers=dict(error.headers),
        content_type="application/problem+json",
    )
