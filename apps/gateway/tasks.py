"""Background work of the gateway: running the calls answered 202."""

from asgiref.sync import async_to_sync
from celery import Task, shared_task
from django.conf import settings

from apps.gateway.background import async_call_run, async_calls_stale

RUN_ASYNC_CALL_TASK = "gateway.run_async_call"


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
    # A loop of its own: under ASGI (eager mode) the server's loop must not run it.
    result = async_to_sync(async_call_run, force_new_loop=True)(call_id=call_id)
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in, max_retries=None)


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
