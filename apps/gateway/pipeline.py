"""The call pipeline: one path for every way a call arrives (HTTP, websocket, queue, and the
background runs of calls answered 202). It reads as the stages of apps.gateway.stages:

    GatewayRequest
      -> admit    (apps.gateway.admission): Admitted | Replayed | Refused
      -> route    response cache, then the providers in the strategy's order:
                  Served | Cached | Failed    (or Accepted: Prefer: respond-async)
      -> record   (apps.gateway.recording): the ledger row, the charge, the hold dropped and
                  the stored idempotent answer commit together
      -> GatewayResponse
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from apps.catalog.providers import CallContext
from apps.core.errors import (
    DatabaseUnavailable,
    GatewayError,
    OutcomeUnknown,
    database_unavailable,
)
from apps.gateway.admission import admit_call
from apps.gateway.background import async_call_accept
from apps.gateway.cache import response_cache_get, response_cache_key, response_cache_put
from apps.gateway.recording import record_cached, record_failed, record_refused, record_served
from apps.gateway.responses import error_response, refusal, success_response
from apps.gateway.stages import (
    Accepted,
    Admitted,
    Cached,
    Failed,
    GatewayRequest,
    GatewayResponse,
    Outcome,
    Refused,
    Replayed,
    RetryLater,
    Served,
)
from apps.observability.metrics import call_answered
from apps.observability.spans import call_traced
from apps.routing.executor import CallFailed, execute

__all__ = ["handle_call", "record_outcome", "route_call"]

logger = logging.getLogger(__name__)


@call_traced
async def handle_call(request: GatewayRequest) -> GatewayResponse:
    """A call from its arrival to its answer; every failure of its own is an answer too."""
    started = time.monotonic()
    stage: Outcome | Admitted = await admit_call(request, started=started)
    if isinstance(stage, Admitted):
        stage = await (_accept(stage) if request.respond_async else route_call(stage))
    response = await record_outcome(stage)
    call = stage.call
    if call.rate_headers:
        response = _with_headers(response, call.rate_headers)
    call_answered(
        method=call.route.key if call.route else "",
        provider=response.headers.get("X-Provider", ""),
        status=response.status,
        channel=request.channel,
        duration_s=time.monotonic() - started,
    )
    return response


async def _accept(admitted: Admitted) -> Accepted | Refused:
    """Prefer: respond-async: stored with its hold, answered 202, run by a worker."""
    try:
        return await async_call_accept(admitted)
    except Exception as exc:
        return refusal(admitted, exc)


async def route_call(admitted: Admitted) -> Served | Cached | Failed | Refused:
    """The response cache, then the providers in the strategy's order, failing over.

    Raises RetryLater for a background run whose provider fault another run may get past."""
    route, request = admitted.route, admitted.request
    try:
        cache_key = _cache_key(admitted)
        if cache_key is not None and (hit := await response_cache_get(cache_key)) is not None:
            response = success_response(admitted, hit.data, hit.provider, cache="HIT")
            return Cached(
                call=admitted, response=response, stored_at=hit.stored_at, origin=hit.provider
            )
        payload, context = _call_context(admitted)
        try:
            outcome = await execute(route=route, payload=payload, context=context)
        except CallFailed as failed:
            run = admitted.run
            if run is not None and run.retry_if is not None and run.retry_if(failed):
                raise RetryLater(failed) from failed
            assert isinstance(failed.error, GatewayError)
            response = error_response(request.request_id, failed.error)
            return Failed(call=admitted, response=response, failed=failed)
        provider = outcome.offering.provider.slug
        shown = route.spec.present(provider, outcome.data) if route.spec.present else outcome.data
        cache = "MISS" if cache_key is not None else None
        response = success_response(admitted, shown, provider, cache=cache)
        return Served(call=admitted, response=response, outcome=outcome, shown=shown)
    except RetryLater:
        raise
    except Exception as exc:
        return refusal(admitted, exc)


def _call_context(admitted: Admitted) -> tuple[dict[str, Any], CallContext]:
    """The payload the providers get (a prepare hook's rewrite, if any) and the context."""
    request, prepared = admitted.request, admitted.prepared
    payload = admitted.payload
    if prepared is not None and prepared.payload is not None:
        payload = prepared.payload
    return payload, CallContext(
        request_id=request.request_id,
        method=admitted.route.key,
        client=admitted.principal.client_slug,
        country=admitted.country,
        pinned_provider=prepared.pinned_provider if prepared else None,
        route_country=prepared.route_country if prepared else "",
        source_ip=request.source_ip,
    )


async def record_outcome(stage: Outcome) -> GatewayResponse:
    """Record the outcome; the answer, or the refusal that a failure to record it becomes."""
    try:
        match stage:
            case Served():
                return await _record_served(stage)
            case Cached():
                await record_cached(stage)
            case Failed():
                await _record_failed(stage)
            case Refused():
                await _record_refused(stage)
            case Accepted() | Replayed():
                pass
    except OutcomeUnknown as unknown:
        # Served, and kept to be recorded once the database is back (apps.gateway.settle):
        # not a 200 without its ledger row, and not recorded again as a failure.
        return error_response(stage.call.request.request_id, unknown)
    except Exception as exc:
        refused = refusal(stage.call, exc)
        await _record_refused(refused)
        return refused.response
    return stage.response


async def _record_served(served: Served) -> GatewayResponse:
    try:
        await record_served(served)
    except BaseException:
        if served.response.document is not None:
            served.response.document.close()  # never handed out: its call was not recorded
        raise
    cache_key = _cache_key(served.call)
    ttl = served.call.route.policy.cache_ttl_s
    if cache_key is not None and ttl:
        provider = served.outcome.offering.provider.slug
        await response_cache_put(cache_key, data=served.shown, provider=provider, ttl_s=ttl)
    return served.response


async def _record_failed(failed: Failed) -> None:
    try:
        await record_failed(failed)
    except Exception as exc:
        if database_unavailable(exc) is None:
            raise
        # Providers were tried, and may have acted (an unknown outcome): the call is not
        # recorded again without its attempts, which would free its key for a second
        # provider call. Its hold and key are left to the dangling-hold release.
        logger.warning(
            "call %s failed at its providers and could not be recorded: the database is away",
            failed.call.request.request_id,
        )


async def _record_refused(refused: Refused) -> None:
    """The ledger row of a call that ended in an error, when there is one to write.

    With the database away before any provider was asked, a call that holds neither credit
    nor an Idempotency-Key leaves nothing to release and gets no row (the write would only
    wait for the pool to refuse it too); one that does is recorded if the database is back
    by now, else its hold and key are left to the dangling-hold release and the key's lease.
    """
    call = refused.call
    nothing_held = call.hold is None and call.idempotency_id is None
    if isinstance(refused.error, DatabaseUnavailable) and nothing_held:
        return
    try:
        await record_refused(refused)
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


def _cache_key(admitted: Admitted) -> str | None:
    """The response cache's key for a cacheable method with a TTL, else None."""
    route = admitted.route
    if not (route.spec.cacheable and route.policy.cache_ttl_s):
        return None
    return response_cache_key(route.key, admitted.payload)


def _with_headers(response: GatewayResponse, headers: Mapping[str, str]) -> GatewayResponse:
    return replace(response, headers={**response.headers, **headers})
