"""Ledger tasks run by Celery beat."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.ledger.dangling import dangling_holds_release


@shared_task(name="ledger.release_dangling_holds", time_limit=300, soft_time_limit=280)
def release_dangling_holds() -> int:
    """Release the credit holds of calls whose process died; returns how many."""
    age = timedelta(seconds=settings.GATEWAY_DANGLING_HOLD_AGE_S)
    return dangling_holds_release(older_than=age).holds_released
