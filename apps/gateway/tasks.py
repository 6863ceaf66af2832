"""Background work of the gateway: running the calls answered 202."""

from typing import Any

from asgiref.sync import async_to_sync
from celery import Task, shared_task
from django.conf import settings

from apps.core.log_context import call_logged, current_request_id
from apps.gateway.background import (
    async_call_callback,
    async_call_finish,
    async_call_publish,
    async_calls_stale,
)
from apps.gateway.background_run import async_call_run
from apps.gateway.dispatch import RUN_ASYNC_CALL_TASK
from apps.gateway.settle import DATABASE_GONE, SETTLE_PENDING_TASK, settle_pending_apply
from apps.gateway.stages import GatewayResponse
from apps.ledger.models import LedgerEntry
from apps.realtime.models import AsyncCall

__all__ = ["RUN_ASYNC_CALL_TASK", "redispatch_stale_calls", "run_async_call", "settle_pending"]


@shared_task(
    bind=True,
    name=RUN_ASYNC_CALL_TASK,
    # Acknowledged once the run is over: a worker that dies mid-call leaves the message to be
    # delivered again, and the run's claim on the record keeps that from running it twice.
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def run_async_call(self: Task, call_id: int) -> None:
    """Run one background call by its record id (see apps.gateway.background)."""
    # A loop of its own: under ASGI (eager mode) the server's loop must not run it. The run
    # gets an access record of its own, under the call's request id (the task's header).
    request_id = current_request_id() or _request_id_of(call_id)
    with call_logged(request_id, channel=LedgerEntry.Channel.ASYNC) as log:
        result = async_to_sync(async_call_run, force_new_loop=True)(call_id=call_id)
        if result.retry_in is not None:
            log.outcome = "retry"
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in, max_retries=None)


def _request_id_of(call_id: int) -> str | None:
    """A task sent without the call's request id (the stale-call sweep's): from its record."""
    return AsyncCall.objects.filter(pk=call_id).values_list("request_id", flat=True).first()


@shared_task(
    name="gateway.redispatch_stale_calls",
    ignore_result=True,
    time_limit=60,
    soft_time_limit=50,
)
def redispatch_stale_calls() -> int:
    """Send again the background calls left pending (on the beat schedule); returns how many."""
    stale = async_calls_stale(older_than_s=settings.GATEWAY_ASYNC_STALE_AFTER_S)
    for call_id in stale:
        run_async_call.delay(call_id)
    return len(stale)


@shared_task(
    bind=True,
    name=SETTLE_PENDING_TASK,
    # Acknowledged once written: a worker that dies mid-write leaves it to be delivered again,
    # and the write is idempotent on the call's request id.
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=60,
    soft_time_limit=50,
)
def settle_pending(self: Task, pending: dict[str, Any]) -> None:
    """Write the settle of a served call that the database could not take at the time
    (apps.gateway.settle); retried with backoff for as long as the database is gone."""
    call_id = pending.get("async_call_id")
    settle_once = None
    if call_id is not None:

        def settle_once(response: GatewayResponse, attempts: list[dict[str, Any]]) -> bool:
            return async_call_finish(call_id, response, attempts=attempts)

    try:
        written = settle_pending_apply(pending, settle_once=settle_once)
    except DATABASE_GONE as exc:
        countdown = min(2 ** min(self.request.retries, 6), 60)
        raise self.retry(exc=exc, countdown=countdown, max_retries=None) from exc
    if written and call_id is not None:
        async_call_callback(call_id)
        async_to_sync(async_call_publish, force_new_loop=True)(call_id)
