"""Background work of the realtime app: delivering results to callback URLs."""

import random

from celery import Task, shared_task
from django.conf import settings

from apps.realtime.services import callback_deliver

DELIVER_CALLBACK_TASK = "realtime.deliver_callback"


@shared_task(
    bind=True,
    name=DELIVER_CALLBACK_TASK,
    acks_late=True,
    ignore_result=True,
    time_limit=60,
    soft_time_limit=50,
)
def deliver_callback(self: Task, call_id: int) -> None:
    """POST a call's result to its callback URL; retried with backoff until delivered, or
    until a delivery is refused for good (the egress policy forbids the address)."""
    delivery = callback_deliver(call_id=call_id)
    if delivery is None or delivery.delivered or delivery.final:
        return  # a final refusal (the egress policy) is recorded on the delivery
    if delivery.attempt >= settings.GATEWAY_CALLBACK_MAX_DELIVERIES:
        return  # given up; every attempt is in the admin
    ceiling = settings.GATEWAY_CALLBACK_BACKOFF_S * 2 ** (delivery.attempt - 1)
    raise self.retry(countdown=ceiling / 2 + random.uniform(0, ceiling / 2), max_retries=None)
