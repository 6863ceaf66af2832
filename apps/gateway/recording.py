"""Recording a call: its ledger row, its charge, its hold dropped and its stored idempotent
answer commit together; then its event is published."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction

from apps.billing.idempotency import (
    idempotency_complete,
    idempotency_release,
)
from apps.billing.ratelimits import free_call_release
from apps.core.db import connection_release, then_release_connection
from apps.core.errors import (
    GatewayError,
    OutcomeUnknown,
    database_unavailable,
)
from apps.core.log_context import call_noted
from apps.core.money import ZERO
from apps.gateway.cache import (
    CachedAnswer,
)
from apps.gateway.call import Call, GatewayResponse
from apps.gateway.events import call_event, call_event_publish
from apps.gateway.settle import (
    SettleOnce,
    pending_settle,
    settle_hand_off,
    settle_pending_apply,
    settle_retrying,
)
from apps.ledger.models import LedgerEntry
from apps.ledger.services import aledger_record_call, ledger_record_call
from apps.observability.metrics import charged
from apps.observability.spans import settle_traced
from apps.routing.executor import CallFailed, CallOutcome

logger = logging.getLogger(__name__)


@settle_traced
async def record_call(
    call: Call,
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
    on_recorded: tuple[str, dict[str, Any]] | None = None
    status: str
    if outcome is not None:
        assert route is not None
        status = LedgerEntry.Status.SUCCEEDED
        provider, cost = outcome.offering.provider.slug, outcome.cost
        attempts, decision = [a.as_dict() for a in outcome.attempts], outcome.decision
        if route.spec.on_recorded is not None:
            hook, data = route.spec.on_recorded, outcome.data
            hooks.append(lambda entry: hook(entry, data))
            on_recorded = (route.key, data)
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
    write: Callable[..., Awaitable[LedgerEntry | None]] = aledger_record_call
    if call.settle_once is not None:
        # A background run's settle checks first that no other delivery settled it.
        write = sync_to_async(
            then_release_connection(partial(_record_once, call.settle_once, response))
        )
    fields: dict[str, Any] = dict(
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
    hold = call.hold
    call_noted(fields, client=principal.client_slug)  # the call's access record
    try:
        entry = await write(hold=hold, after=after if hooks else None, **fields)
    except Exception as exc:
        # The hold stays taken: money is never released without its ledger row.
        logger.exception("could not record the ledger row of %s", request.request_id)
        if not served or database_unavailable(exc) is None:
            raise
        # Served: recording it as failed would leave it unbilled and free its key for a
        # second provider call. It is settled again, or kept until the database is back.
        await _settle_served(call, response, fields, on_recorded, exc)
        return
    call.hold = None  # settled: a second record (after a failure above) must not reuse it
    if entry is None:
        call.free = None
        return
    charged(entry.currency, entry.price)
    if settings.GATEWAY_CALL_EVENTS_ENABLED:
        await _publish_event(entry, principal.client_slug)
    if call.free is not None and not billable:
        await free_call_release(call.free)
    call.free = None


async def _settle_served(
    call: Call,
    response: GatewayResponse,
    fields: dict[str, Any],
    on_recorded: tuple[str, dict[str, Any]] | None,
    failure: Exception,
) -> None:
    """Settle a served call whose first write failed with the database away: again within
    GATEWAY_SETTLE_RETRY_BUDGET_S, else handed off (apps.gateway.settle) and OutcomeUnknown.

    The first write may have committed before its connection went, so every retry goes
    through settle_pending_apply, which writes nothing when the call's row exists.
    """
    pending = pending_settle(
        fields=fields,
        hold=call.hold,
        response=response,
        idempotency_id=call.idempotency_id,
        on_recorded=on_recorded,
        async_call_id=call.async_call_id,
    )
    settle_once = call.settle_once
    try:
        await settle_retrying(
            lambda: sync_to_async(_settle_now)(pending, settle_once),
            request_id=call.request.request_id,
        )
    except Exception as exc:
        if database_unavailable(exc) is None:
            raise
        try:
            await settle_hand_off(pending, settle_once=settle_once)
        except Exception:
            logger.exception("could not hand off the settle of %s", call.request.request_id)
        _settled_elsewhere(call)
        raise OutcomeUnknown(
            f"The call was served by {fields['provider'] or 'the response cache'}, but the "
            "gateway could not record it yet; it will be recorded and charged once. Do not "
            "send it again under a new Idempotency-Key: a retry with the same key gets its "
            "answer once it is recorded.",
            headers={"Retry-After": "10"},
        ) from failure
    _settled_elsewhere(call)


def _settled_elsewhere(call: Call) -> None:
    """The settle (written now, or the pending one) owns the hold, the free call and the key."""
    call.hold = call.free = None
    call.idempotency_id = None


def _settle_now(pending: dict[str, Any], settle_once: SettleOnce | None) -> bool:
    try:
        return settle_pending_apply(pending, settle_once=settle_once)
    finally:
        connection_release()


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
