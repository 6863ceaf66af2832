"""The call pipeline: one path for every way a call arrives (HTTP now; async, ws, mq later).

authenticate -> resolve method -> price (plan, country, negotiated deal)
-> rate limits and free calls (one Redis round trip) -> validate payload
-> idempotency (only with an Idempotency-Key) -> credit hold -> response cache (cacheable
methods with a TTL) -> route (strategy, failover) -> settle: the ledger row, the charge,
the release of the hold and the stored idempotent answer commit together

Admission is apps.gateway.admission, recording apps.gateway.recording, the call and its
answers apps.gateway.call; this module runs a call through them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from apps.catalog.providers import CallContext
from apps.core.errors import (
    DatabaseUnavailable,
    GatewayError,
    OutcomeUnknown,
    database_unavailable,
)
from apps.gateway.admission import admit_call, prepare
from apps.gateway.cache import (
    response_cache_get,
    response_cache_key,
    response_cache_put,
)
from apps.gateway.call import (
    Call,
    GatewayRequest,
    GatewayResponse,
    RetryLater,
    error_response,
    success_response,
)
from apps.gateway.recording import record_call
from apps.observability.metrics import call_answered
from apps.observability.spans import call_traced
from apps.routing.executor import CallFailed, execute

__all__ = ["execute_call", "handle_call"]

logger = logging.getLogger(__name__)


@call_traced
async def handle_call(request: GatewayRequest) -> GatewayResponse:
    call = Call(request=request, started=time.monotonic())
    try:
        response = await _run(call)
    except Exception as exc:
        error = exc if isinstance(exc, GatewayError) else database_unavailable(exc)
        if error is None:
            logger.exception("call %s failed inside the gateway", request.request_id)
            error = GatewayError("The gateway failed to handle this call.")
        response = error_response(call, error)
        await _record_refused(call, response, error)
    response.headers.update(call.rate_headers)
    call_answered(
        method=call.route.key if call.route else "",
        provider=response.headers.get("X-Provider", ""),
        status=response.status,
        channel=request.channel,
        duration_s=time.monotonic() - call.started,
    )
    return response


async def _record_refused(call: Call, response: GatewayResponse, error: GatewayError) -> None:
    """The ledger row of a call that ended in an error, when there is one to write.

    With the database away before any provider was asked, a call that holds neither credit
    nor an Idempotency-Key leaves nothing to release and gets no row (the write would only
    wait for the pool to refuse it too); one that does is recorded if the database is back
    by now, else its hold and key are left to the dangling-hold release and the key's lease.
    """
    if call.principal is None:
        return
    if isinstance(error, DatabaseUnavailable) and call.hold is None and call.idempotency_id is None:
        return
    try:
        await record_call(call, response, error=error)
    except Exception as exc:
        # The answer is decided; the client still gets it. The hold and key are left to the
        # dangling-hold release and the key's lease.
        if database_unavailable(exc) is None:
            logger.exception("could not record the refusal of %s", call.request.request_id)
        else:
            logger.warning(
                "call %s refused while the database is away; its hold and key are left",
                call.request.request_id,
            )


async def _run(call: Call) -> GatewayResponse:
    admitted = await admit_call(call)
    if isinstance(admitted, GatewayResponse):
        return admitted
    if call.request.respond_async:
        from apps.gateway.background import async_call_accept

        return await async_call_accept(call, admitted)
    return await execute_call(call, admitted)


async def execute_call(call: Call, payload: dict[str, Any]) -> GatewayResponse:
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
            response = success_response(call, cached.data, cached.provider, cache="HIT")
            try:
                await record_call(call, response, cached=cached)
            except OutcomeUnknown as unknown:
                return error_response(call, unknown)  # kept, and written once the DB is back
            return response

    prepared = call.prepared
    if prepared is None and route.spec.prepare is not None:
        # A background run: what was prepared at admission may have changed since.
        prepared = call.prepared = await prepare(route, payload, principal)
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
        response = error_response(call, failed.error)
        try:
            await record_call(
                call,
                response,
                error=failed.error,
                failed=failed,
                billable=pricing.charge_failed_calls.get(principal.plan_id, False),
            )
        except Exception as exc:
            if database_unavailable(exc) is None:
                raise
            # Providers were tried, and may have acted (an unknown outcome): the call is not
            # recorded again without its attempts, which would free its key for a second
            # provider call. Its hold and key are left to the dangling-hold release.
            logger.warning(
                "call %s failed at its providers and could not be recorded: the database is away",
                request.request_id,
            )
        return response

    provider = outcome.offering.provider.slug
    shown = route.spec.present(provider, outcome.data) if route.spec.present else outcome.data
    response = success_response(
        call, shown, provider, cache="MISS" if cache_key is not None else None
    )
    try:
        await record_call(call, response, outcome=outcome)
    except BaseException as exc:
        if response.document is not None:
            response.document.close()  # never handed out: its call was not recorded
        if isinstance(exc, OutcomeUnknown):
            # Served, and kept to be recorded once the database is back (apps.gateway.settle):
            # not a 200 without its ledger row, and not recorded again as a failure.
            return error_response(call, exc)
        raise
    if cache_key is not None and cache_ttl:
        await response_cache_put(cache_key, data=shown, provider=provider, ttl_s=cache_ttl)
    return response
