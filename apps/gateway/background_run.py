"""One run of a background call (the body of the task `gateway.run_async_call`).

The stored AsyncCall is admitted already (apps.gateway.background): a run claims it, builds
its Admitted stage from the record (its hold, free call, price and country as admission
took them; its route, payload and prepare hook read again, as they may have changed), and
hands it to the pipeline's route and record steps. A provider fault that another run may
get past ends the run, not the call (RetryLater): the record goes back to pending.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.authentication import Principal
from apps.billing.ratelimits import FreeAllowance
from apps.billing.services import HeldCredit
from apps.core import state
from apps.core.db import then_release_connection
from apps.core.errors import AllProvidersFailed, DeadlineExceeded, NoProviderAvailable
from apps.gateway.admission import prepare, resolve
from apps.gateway.background import async_call_callback, async_call_finish, async_call_publish
from apps.gateway.checks import validate
from apps.gateway.pipeline import record_outcome, route_call
from apps.gateway.responses import refusal
from apps.gateway.snapshot import current_snapshot
from apps.gateway.stages import (
    Admission,
    Admitted,
    BackgroundRun,
    GatewayRequest,
    GatewayResponse,
    Outcome,
    RetryLater,
    SettleOnce,
)
from apps.realtime.models import AsyncCall
from apps.routing.executor import CallFailed
from apps.routing.http import close_http_client

logger = logging.getLogger(__name__)

RETRYABLE = (AllProvidersFailed, NoProviderAvailable, DeadlineExceeded)


@dataclass(frozen=True)
class RunResult:
    """What the task does next: nothing (None), or run again in `retry_in` seconds."""

    retry_in: float | None = None


async def async_call_run(*, call_id: int) -> RunResult:
    """One run of a background call (the task's body). Safe to run twice for the same id."""
    try:
        return await _run(call_id)
    finally:
        # The task's event loop ends here: close its Redis and HTTP connections with it.
        await state.close_async_client()
        await close_http_client()


async def _run(call_id: int) -> RunResult:
    claimed = await sync_to_async(then_release_connection(_claim))(call_id)
    if isinstance(claimed, RunResult):
        return claimed
    record, principal = claimed
    settled: list[GatewayResponse] = []

    def settle_once(response: GatewayResponse, attempts: list[dict[str, Any]]) -> bool:
        if async_call_finish(record.pk, response, attempts=attempts):
            settled.append(response)
            return True
        return False

    admission = _admission_of(record, principal, settle_once)
    outcome: Outcome
    try:
        outcome = await route_call(await _admitted(admission, record))
    except RetryLater as retry:
        return await _postponed(record, admission, retry.failed)
    except Exception as exc:
        outcome = refusal(admission, exc)
    await record_outcome(outcome)
    if settled:
        await sync_to_async(then_release_connection(async_call_callback))(record.pk)
        await async_call_publish(record.pk)
    return RunResult()


def _admission_of(record: AsyncCall, principal: Principal, settle_once: SettleOnce) -> Admission:
    """The call as admission left it: what the record keeps of it."""
    request = GatewayRequest(
        request_id=record.request_id,
        service=record.service,
        method=record.method,
        body=record.body.encode(),
        headers={},
        channel=record.channel,
        principal=principal,
    )
    age_s = (timezone.now() - record.created_at).total_seconds()
    free = None
    if record.free_month_start is not None:
        method = f"{record.service}.{record.method}"
        free = FreeAllowance(principal.client_id, method, 0, record.free_month_start)
    hold = None
    if record.hold_id is not None:
        hold = HeldCredit(id=record.hold_id, amount=record.price)
    return Admission(
        request=request,
        started=time.monotonic() - age_s,
        principal=principal,
        country=record.country,
        price=record.price,
        free=free,
        hold=hold,
        run=BackgroundRun(
            async_call_id=record.pk,
            settle_once=settle_once,
            prior_attempts=tuple(record.attempts),
        ),
    )


async def _admitted(admission: Admission, record: AsyncCall) -> Admitted:
    """Admitted again: the route and payload as they are now, the prepare hook run again
    (what it prepared at admission may have changed since)."""
    assert admission.principal is not None and admission.run is not None
    snapshot = await current_snapshot()
    route = resolve(snapshot, record.service, record.method)
    last_run = record.runs >= route.policy.max_attempts
    payload = validate(route, admission.request.body)
    prepared = None
    if route.spec.prepare is not None:
        prepared = await prepare(route, payload, admission.principal)
    return Admitted(
        request=admission.request,
        started=admission.started,
        principal=admission.principal,
        route=route,
        pricing=snapshot.pricing,
        payload=payload,
        country=admission.country,
        price=admission.price,
        hold=admission.hold,
        free=admission.free,
        prepared=prepared,
        run=replace(admission.run, retry_if=lambda failed: not last_run and _retryable(failed)),
    )


async def _postponed(record: AsyncCall, admission: Admission, failed: CallFailed) -> RunResult:
    prior = list(admission.run.prior_attempts) if admission.run else []
    attempts = prior + [a.as_dict() for a in failed.attempts]
    delay = _backoff(record.runs)
    await sync_to_async(then_release_connection(_postpone))(record.pk, attempts, delay)
    logger.info(
        "background call %s: run %s failed, again in %.1f s",
        record.request_id,
        record.runs,
        delay,
    )
    return RunResult(retry_in=delay)


def _retryable(failed: CallFailed) -> bool:
    # An unknown outcome (a non-idempotent call that may have been acted on) is never re-run.
    return isinstance(failed.error, RETRYABLE) and failed.decision.get("outcome") != "unknown"


def _backoff(runs: int) -> float:
    """Full jitter over an exponential ceiling (AWS's "exponential backoff and jitter")."""
    ceiling = min(
        settings.GATEWAY_ASYNC_RETRY_BACKOFF_MAX_S,
        settings.GATEWAY_ASYNC_RETRY_BACKOFF_S * 2 ** max(runs - 1, 0),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _claim(call_id: int) -> tuple[AsyncCall, Principal] | RunResult:
    now = timezone.now()
    record = AsyncCall.objects.filter(pk=call_id).select_related("client").first()
    if record is None or record.is_final:
        return RunResult()
    lease = timedelta(
        seconds=settings.GATEWAY_ASYNC_LEASE_MARGIN_S + settings.CELERY_TASK_TIME_LIMIT
    )
    claimed = (
        AsyncCall.objects.filter(pk=call_id)
        .filter(
            Q(status=AsyncCall.Status.PENDING)
            | Q(status=AsyncCall.Status.RUNNING, lease_until__lt=now)
        )
        .update(
            status=AsyncCall.Status.RUNNING,
            runs=F("runs") + 1,
            lease_until=now + lease,
            started_at=Coalesce("started_at", now),
        )
    )
    if not claimed:
        # Another delivery is running it: look again once its lease has run out.
        record.refresh_from_db(fields=["status", "lease_until"])
        if record.is_final or record.lease_until is None:
            return RunResult()
        return RunResult(retry_in=max((record.lease_until - now).total_seconds(), 1.0))
    record.refresh_from_db()
    return record, Principal.for_client(record.client, key_id=record.api_key_id)


def _postpone(call_id: int, attempts: list[dict[str, Any]], delay: float) -> None:
    AsyncCall.objects.filter(pk=call_id, status=AsyncCall.Status.RUNNING).update(
        status=AsyncCall.Status.PENDING,
        attempts=attempts,
        lease_until=None,
        next_run_at=timezone.now() + timedelta(seconds=delay),
    )
