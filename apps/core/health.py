"""Liveness and readiness probes."""

import asyncio

from asgiref.sync import sync_to_async
from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from apps.core import state


async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


async def _redis_ok() -> bool:
    if not state.uses_redis():
        return True
    try:
        return bool(await asyncio.wait_for(state.async_client().ping(), timeout=1.0))
    except Exception:
        return False


def _broker_ok() -> bool:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True
    try:
        # The project's Celery app (gateway_project.celery) is the current one: this module
        # sits below the project and does not import it.
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
        return True
    except Exception:
        return False


async def readyz(request: HttpRequest) -> JsonResponse:
    """Ready, degraded or unavailable.

    Without Redis the gateway keeps serving (breakers, weights and versions fall back to each
    process's own state), so an unreachable Redis is "degraded" with 200: a load balancer
    keeps sending calls, monitoring sees the warning. Without the database or the broker
    it is unavailable (503).
    """
    checks = {
        "database": await sync_to_async(_database_ok)(),
        "cache": await _redis_ok(),
        "broker": await sync_to_async(_broker_ok)(),
    }
    if not (checks["database"] and checks["broker"]):
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    if not checks["cache"]:
        return JsonResponse(
            {
                "status": "degraded",
                "checks": checks,
                "detail": "Redis is unreachable: breakers, weights and cache versions are "
                "this process's own until it is back.",
            }
        )
    return JsonResponse({"status": "ready", "checks": checks})
