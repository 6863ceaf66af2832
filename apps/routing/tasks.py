"""Background work of routing: the scheduled active health checks."""

from celery import shared_task

from apps.routing.health import providers_health_check

HEALTH_CHECK_TASK = "routing.health_check_providers"


@shared_task(name=HEALTH_CHECK_TASK, time_limit=60, soft_time_limit=50, ignore_result=True)
def health_check_providers() -> int:
    """Probe every enabled provider (on the beat schedule); returns how many were probed."""
    return len(providers_health_check())
