"""Recording a call, one function per outcome: its ledger row, its charge, its hold dropped
and its stored idempotent answer commit together; then its event is published.

A call is billable when it was served (by a provider or the cache), or when it failed and
the plan charges failed calls. A free call that turns out not billable is given back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction

from apps.accounts.authentication import Principal
from apps.billing.idempotency import idempotency_complete, idempotency_release
from apps.billing.ratelimits import free_call_release
from apps.core.db import then_release_connection
from apps.core.errors import GatewayError, database_unavailable
from apps.core.log_context import call_noted
from apps.core.money import ZERO
from apps.gateway.events import call_event, call_event_publish
from apps.gateway.outcome_unknown import settle_served
from apps.gateway.stages import (
    Admission,
    Admitted,
    Cached,
    Failed,
    GatewayResponse,
    Refused,
    Served,
    SettleOnce,
)
from apps.ledger.models import LedgerEntry
from apps.ledger.services import aledger_record_call, ledger_record_call
from apps.observability.metrics import charged
from apps.observability.spans import settle_traced

logger = logging.getLogger(__name__)

Hook = Callable[[LedgerEntry], None]


@settle_traced
async def record_served(served: Served) -> None:
    """A provider's answer: charged at the call's price, at the serving provider's cost.

    Raises OutcomeUnknown when the database stayed away: the settle is kept, to be written
    once it is back (apps.gateway.settle)."""
    call, outcome, response = served.call, served.outcome, served.response
    route = call.route
    hooks: list[Hook] = []
    on_recorded: tuple[str, dict[str, Any]] | None = None
    if route.spec.on_recorded is not None:
        hook, data = route.spec.on_recorded, outcome.data
        hooks.append(lambda entry: hook(entry, data))
        on_recorded = (route.key, data)
    fields = _ledger_fields(
        call,
        call.principal,
        response,
        status=LedgerEntry.Status.SUCCEEDED,
        provider=outcome.offering.provider.slug,
        cost=outcome.cost,
        attempts=[a.as_dict() for a in outcome.attempts],
        decision=outcome.decision,
        billable=True,
    )
    hooks.extend(_idempotency_hooks(call, response, keep=True))
    await _write(call, response, fields, hooks=hooks, billable=True, on_recorded=on_recorded)


@settle_traced
async def record_cached(cached: Cached) -> None:
    """An answer from the response cache: charged at the client's price, at no cost."""
    call, response = cached.call, cached.response
    stored_at = datetime.fromtimestamp(cached.stored_at, tz=UTC).isoformat()
    fields = _ledger_fields(
        call,
        call.principal,
        response,
        status=LedgerEntry.Status.SUCCEEDED,
        decision={"cache": "hit", "origin": cached.origin, "stored_at": stored_at},
        billable=True,
        cached=True,
    )
    hooks = _idempotency_hooks(call, response, keep=True)
    await _write(call, response, fields, hooks=hooks, billable=True, on_recorded=None)


@settle_traced
async def record_failed(failed: Failed) -> None:
    """Every provider failed: charged only if the client's plan charges failed calls."""
    call, response, error = failed.call, failed.response, failed.error
    principal = call.principal
    billable = call.pricing.charge_failed_calls.get(principal.plan_id, False)
    attempts = [a.as_dict() for a in failed.failed.attempts]
    decision = failed.failed.decision
    unknown = decision.get("outcome") == "unknown"
    fields = _ledger_fields(
        call,
        principal,
        response,
        status=LedgerEntry.Status.UNKNOWN if unknown else error.ledger_status,
        attempts=attempts,
        decision=decision,
        error=error,
        billable=billable,
    )
    keep = billable or bool(attempts)
    hooks = _idempotency_hooks(call, response, keep=keep)
    await _write(call, response, fields, hooks=hooks, billable=billable, on_recorded=None)


@settle_traced
async def record_refused(refused: Refused) -> None:
    """A call refused before any provider answered: never charged; its hold, free call and
    Idempotency-Key are given back. Nothing to record before its client is known."""
    call, response, error = refused.call, refused.response, refused.error
    if call.principal is None:
        return
    fields = _ledger_fields(
        call,
        call.principal,
        response,
        status=error.ledger_status,
        decision={},
        error=error,
        billable=False,
    )
    hooks = _idempotency_hooks(call, response, keep=False)
    await _write(call, response, fields, hooks=hooks, billable=False, on_recorded=None)


def _idempotency_hooks(
    call: Admission | Admitted, response: GatewayResponse, *, keep: bool
) -> list[Hook]:
    """The call's Idempotency-Key, in the row's transaction: its answer kept whenever
    something happened (served, charged, or a provider tried), else the key released."""
    record_id = call.idempotency_id
    if record_id is None:
        return []
    if not keep:
        return [lambda entry: idempotency_release(record_id=record_id)]
    stored = {k: v for k, v in response.headers.items() if k != "Retry-After"}
    return [
        lambda entry: idempotency_complete(
            record_id=record_id, status=response.status, body=response.body, headers=stored
        )
    ]


def _ledger_fields(
    call: Admission | Admitted,
    principal: Principal,
    response: GatewayResponse,
    *,
    status: str,
    decision: dict[str, Any],
    billable: bool,
    provider: str = "",
    cost: Decimal = ZERO,
    attempts: list[dict[str, Any]] | None = None,
    error: GatewayError | None = None,
    cached: bool = False,
) -> dict[str, Any]:
    request, route = call.request, call.route
    service, _, method = (route.key if route else "").partition(".")
    prior = list(call.run.prior_attempts) if call.run else []
    return dict(
        request_id=request.request_id,
        client_id=principal.client_id,
        api_key_id=principal.key_id,
        service=(service or request.service)[:50],
        method=(method or request.method)[:50],
        provider=provider,
        status=status,
        http_status=response.status,
        error_type=error.code if error is not None else "",
        error_detail=str(error.detail) if error is not None else "",
        cost=cost,
        price=call.price if billable else ZERO,
        currency=settings.ACCOUNTING_CURRENCY,
        cached=cached,
        free_call=call.free is not None and billable,
        attempts=prior + (attempts or []),
        routing=decision,
        latency_ms=int((time.monotonic() - call.started) * 1000),
        channel=request.channel,
        source_ip=request.source_ip,
        country=call.country or principal.country,
    )


async def _write(
    call: Admission | Admitted,
    response: GatewayResponse,
    fields: dict[str, Any],
    *,
    hooks: list[Hook],
    billable: bool,
    on_recorded: tuple[str, dict[str, Any]] | None,
) -> None:
    """The settle's one transaction, then what follows a committed charge."""
    assert call.principal is not None
    write: Callable[..., Awaitable[LedgerEntry | None]] = aledger_record_call
    settle_once = call.run.settle_once if call.run else None
    if settle_once is not None:
        # A background run's settle checks first that no other delivery settled it.
        write = sync_to_async(then_release_connection(partial(_record_once, settle_once, response)))
    call_noted(fields, client=call.principal.client_slug)  # the call's access record
    try:
        entry = await write(hold=call.hold, after=_after(hooks), **fields)
    except Exception as exc:
        # The hold stays taken: money is never released without its ledger row.
        logger.exception("could not record the ledger row of %s", fields["request_id"])
        served = fields["status"] == LedgerEntry.Status.SUCCEEDED
        if not served or database_unavailable(exc) is None:
            raise
        # Served: recording it as failed would leave it unbilled and free its key for a
        # second provider call. It is settled again, or kept until the database is back.
        await settle_served(call, response, fields, on_recorded=on_recorded, failure=exc)
        return
    if entry is None:
        return  # another delivery of this background call settled it first
    charged(entry.currency, entry.price)
    if settings.GATEWAY_CALL_EVENTS_ENABLED:
        await _publish_event(entry, call.principal.client_slug)
    if call.free is not None and not billable:
        await free_call_release(call.free)


def _after(hooks: list[Hook]) -> Hook | None:
    if not hooks:
        return None

    def after(entry: LedgerEntry) -> None:
        for hook in hooks:
            hook(entry)

    return after


async def _publish_event(entry: LedgerEntry, client: str) -> None:
    """Other systems' feed must never fail or hold up a call that is already settled."""
    try:
        event = call_event(entry, client=client)
        await sync_to_async(call_event_publish, thread_sensitive=False)(event)
    except Exception:
        logger.exception("could not publish the call event of %s", entry.request_id)


@transaction.atomic
def _record_once(
    settle_once: SettleOnce, response: GatewayResponse, **fields: Any
) -> LedgerEntry | None:
    if not settle_once(response, fields["attempts"]):
        return None  # another delivery of this background call settled it first
    return ledger_record_call(**fields)
