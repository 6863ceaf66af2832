"""Background calls (Prefer: respond-async): admitted now, answered 202, run by a worker.

Admission is the pipeline's (authentication, price, limits, validation, idempotency, the
credit hold): bad input still gets its 4xx at once. The admitted call becomes an AsyncCall
record, and the task `gateway.run_async_call` runs it by id:

- a run claims the record with one conditional UPDATE (pending -> running, or a running
  record whose lease ran out because its worker died), so two deliveries never run at once;
- a provider fault ends the run, not the call: the record goes back to pending with the
  run's attempts and the task is retried after an exponential, jittered backoff, until the
  method's max_attempts runs are spent (the credit hold stays held all along);
- the final run settles the call: the record turns final in the transaction that writes the
  ledger row, charges and drops the hold, and only if it was not final already, so a task
  delivered twice never charges or records twice;
- then the result goes to the websocket group of the call and to its callback URL.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from apps.accounts.authentication import Principal
from apps.billing.idempotency import idempotency_complete
from apps.billing.ratelimits import FreeAllowance
from apps.billing.services import HeldCredit
from apps.core import state
from apps.core.db import then_release_connection
from apps.core.egress import url_refusal
from apps.core.errors import (
    AllProvidersFailed,
    DeadlineExceeded,
    GatewayError,
    InvalidRequest,
    NoProviderAvailable,
)
from apps.core.log_context import call_noted
from apps.gateway.admission import resolve, validate
from apps.gateway.call import Call, GatewayRequest, GatewayResponse, RetryLater, error_response
from apps.gateway.dispatch import async_call_dispatch
from apps.gateway.pipeline import execute_call
from apps.gateway.recording import record_call
from apps.gateway.snapshot import current_snapshot
from apps.realtime.models import AsyncCall
from apps.realtime.tokens import websocket_token
from apps.routing.executor import CallFailed
from apps.routing.http import close_http_client

logger = logging.getLogger(__name__)

RETRYABLE = (AllProvidersFailed, NoProviderAvailable, DeadlineExceeded)


def callback_url_check(url: str) -> str:
    """The callback URL of an async call, checked: absolute http(s), at most 2000 chars."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidRequest("The callback URL must be an absolute http(s) URL.")
    # What is plain from the URL alone is refused now; delivery checks every address again.
    if url_refusal(url) is not None:
        raise InvalidRequest("The callback URL must point to a public address.")
    return url


def prefers_async(prefer: str) -> bool:
    """Whether a Prefer header (RFC 7240) asks for respond-async."""
    return any(p.split(";")[0].strip().lower() == "respond-async" for p in prefer.split(","))


async def async_call_accept(call: Call, payload: dict[str, Any]) -> GatewayResponse:
    """Store an admitted call and answer 202; its task is sent once the record is committed."""
    record = await sync_to_async(then_release_connection(_store))(call)
    assert call.principal is not None
    call_noted({}, client=call.principal.client_slug)  # the 202's access record: no charge yet
    call.hold = None  # the record owns the hold now; the task settles it
    call.free = None
    return _accepted_response(record)


def _store(call: Call) -> AsyncCall:
    principal, route, request = call.principal, call.route, call.request
    assert principal is not None and route is not None
    try:
        with transaction.atomic():
            record = AsyncCall.objects.create(
                request_id=request.request_id,
                client_id=principal.client_id,
                api_key_id=principal.key_id,
                channel=request.channel,
                service=route.spec.service,
                method=route.spec.name,
                body=request.body.decode(),
                country=call.country,
                price=call.price,
                hold_id=call.hold.id if call.hold else None,
                free_month_start=call.free.month_start if call.free else None,
                callback_url=request.callback_url,
            )
            if call.idempotency_id is not None:
                # A retry with the same key gets this 202 again (same request id), not a
                # second background call.
                accepted = _accepted_response(record)
                idempotency_complete(
                    record_id=call.idempotency_id,
                    status=accepted.status,
                    body=accepted.body,
                    headers=accepted.headers,
                )
                call.idempotency_id = None
            transaction.on_commit(
                lambda: async_call_dispatch(call_id=record.pk, request_id=record.request_id)
            )
    except IntegrityError as exc:
        raise InvalidRequest(
            f"The request id {request.request_id!r} already names one of your background calls."
        ) from exc
    return record


def _accepted_response(record: AsyncCall) -> GatewayResponse:
    status_url = reverse("request-detail", kwargs={"request_id": record.request_id})
    token = websocket_token(call_id=record.pk, client_id=record.client_id)
    return GatewayResponse(
        status=202,
        body={
            "request_id": record.request_id,
            "status": AsyncCall.Status.PENDING,
            "status_url": status_url,
            "websocket_url": f"/ws/requests/{record.request_id}/?token={token}",
        },
        headers={"Location": status_url, "Preference-Applied": "respond-async"},
    )


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
    call = Call(request=request, started=time.monotonic() - age_s)
    call.principal = principal
    call.country = record.country
    call.price = record.price
    call.prior_attempts = list(record.attempts)
    if record.hold_id is not None:
        call.hold = HeldCredit(id=record.hold_id, amount=record.price)
    if record.free_month_start is not None:
        call.free = FreeAllowance(
            principal.client_id, f"{record.service}.{record.method}", 0, record.free_month_start
        )
    settled: list[GatewayResponse] = []

    def settle_once(response: GatewayResponse, attempts: list[dict[str, Any]]) -> bool:
        if _finish(record.pk, response, attempts=attempts):
            settled.append(response)
            return True
        return False

    call.settle_once = settle_once
    call.async_call_id = record.pk
    try:
        snapshot = await current_snapshot()
        call.route = route = resolve(snapshot, record.service, record.method)
        call.pricing = snapshot.pricing
        last_run = record.runs >= route.policy.max_attempts
        call.retry_if = lambda failed: not last_run and _retryable(failed)
        payload = validate(route, request.body)
        response = await execute_call(call, payload)
    except RetryLater as retry:
        attempts = call.prior_attempts + [a.as_dict() for a in retry.failed.attempts]
        delay = _backoff(record.runs)
        await sync_to_async(then_release_connection(_postpone))(record.pk, attempts, delay)
        logger.info(
            "background call %s: run %s failed, again in %.1f s",
            record.request_id,
            record.runs,
            delay,
        )
        return RunResult(retry_in=delay)
    except GatewayError as error:
        response = error_response(call, error)
        await record_call(call, response, error=error)
    except Exception:
        logger.exception("background call %s failed inside the gateway", record.request_id)
        internal = GatewayError("The gateway failed to handle this call.")
        response = error_response(call, internal)
        await record_call(call, response, error=internal)
    if settled:
        await sync_to_async(then_release_connection(_after_settle))(record.pk)
        await async_call_publish(record.pk)
    return RunResult()


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


def record_result(response: GatewayResponse) -> dict[str, Any]:
    """The stored result of a call: its HTTP status and the body a sync call would get."""
    return {"http_status": response.status, "body": json.loads(response.render())}


def _finish(call_id: int, response: GatewayResponse, *, attempts: list[dict[str, Any]]) -> bool:
    """Mark the call final (inside the ledger row's transaction); False if it already was."""
    record = AsyncCall.objects.select_for_update().filter(pk=call_id).first()
    if record is None or record.is_final:
        return False
    record.status = AsyncCall.Status.SUCCEEDED if response.status < 400 else AsyncCall.Status.FAILED
    result = record_result(response)
    record.result_status, record.result = result["http_status"], result["body"]
    record.attempts = attempts
    record.finished_at = timezone.now()
    record.lease_until = None
    record.save(
        update_fields=[
            "status",
            "result_status",
            "result",
            "attempts",
            "finished_at",
            "lease_until",
        ]
    )
    return True


def _after_settle(call_id: int) -> None:
    from apps.realtime.tasks import deliver_callback

    if AsyncCall.objects.filter(pk=call_id).exclude(callback_url="").exists():
        transaction.on_commit(lambda: deliver_callback.delay(call_id))


async def async_call_publish(call_id: int) -> None:
    """Tell the call's websocket subscribers its result (they send it once, then close)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(
            f"async-call.{call_id}", {"type": "call.finished", "call_id": call_id}
        )
    except Exception:
        # The result is stored: a subscriber that missed this reads it when it connects.
        logger.exception("could not publish the result of background call %s", call_id)


def async_calls_stale(*, older_than_s: float) -> list[int]:
    """Pending calls whose run should have started `older_than_s` ago and has not: the task
    never reached the broker, or its message was lost. Sending it again is safe (a run
    claims its call, so two deliveries never run it twice)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    return list(
        AsyncCall.objects.filter(status=AsyncCall.Status.PENDING)
        .filter(Q(next_run_at__lt=cutoff) | Q(next_run_at__isnull=True, created_at__lt=cutoff))
        .values_list("pk", flat=True)
    )
