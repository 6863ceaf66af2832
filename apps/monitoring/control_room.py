"""The admin index's control room: what is wrong now, read cheaply and within a bound.

Five readings, each bounded by READING_TIMEOUT_S and each failing on its own:

- breakers and providers (one Redis round trip for every enabled offering's breaker: its state,
  its fault counters over the breaker's window, its latency EWMA);
- dangling credit holds (the beat task's own definition, counted up to CAP_ROWS);
- the dead-letter queue depth (apps.monitoring.queues, the same probe as `GET /metrics`);
- the 5xx rate of the last ERROR_WINDOW, from the newest CAP_ROWS ledger rows of that window
  (the `ledger_by_time` index, read backwards: a bounded scan however large the ledger is).

Database readings run on the request's own connection under a PostgreSQL `statement_timeout`;
Redis and the broker are read on threads of a small pool that the panel waits for at most
READING_TIMEOUT_S. What is read is cached for CACHE_S, so a refresh storm reads once.
The panel itself (which lines, which links for whom) is apps.monitoring.control_room_panel;
what is read, apps.monitoring.control_room_values.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from psycopg.errors import QueryCanceled

from apps.billing.models import CreditHold
from apps.catalog.models import Offering
from apps.core import state
from apps.ledger.models import LedgerEntry
from apps.monitoring.control_room_values import (
    DanglingHolds,
    DeadLetters,
    ErrorRate,
    OfferingHealth,
    Reading,
    Readings,
)
from apps.monitoring.queues import broker_queues, read_broker
from apps.realtime.models import AsyncCall
from apps.routing import breakers
from apps.routing.breakers import BreakerView
from apps.routing.health import offering_breaker_policy

logger = logging.getLogger(__name__)

READING_TIMEOUT_S = 0.3
CACHE_S = 5
CACHE_KEY = "observability:control_room:v1"
ERROR_WINDOW = timedelta(minutes=15)
# The most rows one reading scans. On a 5M-row ledger 10,000 took 17 ms, 20,000 45 ms warm
# and 140 ms from disk.
CAP_ROWS = 10_000
PROBLEM_STATES = ("open", "half_open", "cooling_down", breakers.FORCED_OPEN)

T = TypeVar("T")
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="control-room")


def readings_cached() -> Readings:
    """The readings of the last CACHE_S seconds, or new ones (also when the cache is away)."""
    try:
        found = cache.get(CACHE_KEY)
    except Exception as exc:
        logger.warning("control room: cache not read (%s)", type(exc).__name__)
        return readings_take()
    if isinstance(found, Readings):
        return found
    fresh = readings_take()
    with contextlib.suppress(Exception):
        cache.set(CACHE_KEY, fresh, CACHE_S)
    return fresh


def readings_take() -> Readings:
    """Read everything now: threads first (Redis, broker), then the database meanwhile."""
    offerings = list(
        Offering.objects.filter(
            enabled=True,
            provider__enabled=True,
            method__enabled=True,
            method__service__enabled=True,
        )
        .select_related("provider", "method__service")
        .order_by("provider__slug", "method__service__slug", "method__slug")
    )
    started = time.monotonic()
    breaker_job = _pool.submit(_breaker_views, offerings)
    dlq_jobs = {name: _pool.submit(read_broker, name, *spec) for name, spec in _dlq_brokers()}
    holds, errors = _database_readings()
    return Readings(
        at=timezone.now(),
        offerings=_offering_health(offerings, _wait(breaker_job, started, "Redis (breakers)")),
        holds=holds,
        dead_letters=_dead_letters(dlq_jobs, started) if dlq_jobs else None,
        errors=errors,
    )


def _wait(job: Future[T], started: float, what: str) -> Reading[T]:
    left = max(0.0, READING_TIMEOUT_S - (time.monotonic() - started))
    try:
        return Reading(job.result(timeout=left))
    except FutureTimeout:
        return Reading(
            why_unknown=f"{what} did not answer within {READING_TIMEOUT_S * 1000:.0f} ms"
        )
    except Exception as exc:
        logger.warning("control room: %s not read (%s)", what, type(exc).__name__)
        return Reading(why_unknown=f"{what} could not be read")


# --- breakers and providers (Redis) ---------------------------------------------------------


def _breaker_views(offerings: list[Offering]) -> dict[int, BreakerView]:
    views = breakers.breaker_views((o.pk, offering_breaker_policy(o)) for o in offerings)
    if state.uses_redis() and not state.redis_usable():
        raise ConnectionError("Redis unreachable")  # views of this process only: not the truth
    return views


def _offering_health(
    offerings: list[Offering], views: Reading[dict[int, BreakerView]]
) -> Reading[list[OfferingHealth]]:
    if views.value is None:
        return Reading(why_unknown=views.why_unknown)
    return Reading([_health(o, views.value[o.pk]) for o in offerings])


def _health(offering: Offering, view: BreakerView) -> OfferingHealth:
    since = None
    if view.state == "open" and view.open_until is not None:
        since = _moment(view.open_until - offering.provider.breaker_cooldown_s)
    return OfferingHealth(
        offering_id=offering.pk,
        provider_id=offering.provider_id,
        provider=offering.provider.slug,
        method=f"{offering.method.service.slug}.{offering.method.slug}",
        state=view.state,
        open_since=since,
        open_until=_moment(view.open_until) if view.open_until is not None else None,
        consecutive_faults=view.consecutive_faults,
        calls=view.calls_in_window,
        faults=view.faults_in_window,
        ewma_ms=view.ewma_ms,
        timeout_ms=offering.provider.timeout_ms,
    )


def _moment(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=timezone.get_current_timezone())


# --- dead letters (the brokers) -------------------------------------------------------------


def _dlq_brokers() -> list[tuple[str, tuple[str, list[tuple[str, bool]]]]]:
    """The brokers holding a dead-letter queue, each asked for that queue only."""
    found = []
    for name, (url, queues) in broker_queues().items():
        dead = [(queue, True) for queue, is_dead in queues if is_dead]
        if dead:
            found.append((name, (url, dead)))
    return found


def _dead_letters(jobs: dict[str, Future], started: float) -> Reading[list[DeadLetters]]:
    depths: list[DeadLetters] = []
    for name, job in jobs.items():
        got = _wait(job, started, f"the {name} broker")
        if got.value is None:
            why = got.why_unknown or f"the {name} broker could not be reached"
            return Reading(why_unknown=why)
        depths += [DeadLetters(d.queue, d.messages) for d in got.value]
    return Reading(depths)


# --- the database: dangling holds, the 5xx rate ---------------------------------------------


def _database_readings() -> tuple[Reading[DanglingHolds], Reading[ErrorRate]]:
    with _statement_timeout():
        return (
            _db_reading(_dangling_holds, "dangling holds"),
            _db_reading(_error_rate, "the ledger's recent calls"),
        )


@contextmanager
def _statement_timeout() -> Iterator[None]:
    """Every statement inside gives up after READING_TIMEOUT_S (PostgreSQL)."""
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {int(READING_TIMEOUT_S * 1000)}")
        try:
            yield
        finally:
            if postgres and not connection.needs_rollback:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout TO DEFAULT")


def _db_reading(read: Callable[[], T], what: str) -> Reading[T]:
    try:
        with transaction.atomic():  # a savepoint: one reading's timeout spoils no other
            return Reading(read())
    except Exception as exc:
        logger.warning("control room: %s not read (%s)", what, type(exc).__name__)
        timed_out = isinstance(exc.__cause__, QueryCanceled)
        return Reading(why_unknown=f"reading {what} {'took too long' if timed_out else 'failed'}")


def _dangling_holds() -> DanglingHolds:
    """Holds as the release task finds them (apps.ledger.selectors.credit_holds_dangling)."""
    age_s = settings.GATEWAY_DANGLING_HOLD_AGE_S
    cutoff = timezone.now() - timedelta(seconds=age_s)
    background = AsyncCall.objects.filter(hold_id__isnull=False).exclude(status__in=AsyncCall.FINAL)
    holds = (
        CreditHold.objects.filter(created_at__lt=cutoff)
        .exclude(id__in=background.values("hold_id"))
        .order_by("created_at")
        .values("id", "created_at")[:CAP_ROWS]
    )
    found = holds.aggregate(count=Count("id"), oldest=Min("created_at"))
    return DanglingHolds(count=found["count"], oldest=found["oldest"], age_s=age_s)


def _error_rate() -> ErrorRate:
    """Calls answered 5xx among the newest CAP_ROWS calls of the last ERROR_WINDOW."""
    since = timezone.now() - ERROR_WINDOW
    calls = (
        LedgerEntry.objects.filter(created_at__gte=since, kind=LedgerEntry.Kind.CHARGE)
        .order_by("-created_at", "-id")
        .values("id", "http_status")[:CAP_ROWS]
    )
    found = calls.aggregate(calls=Count("id"), errors=Count("id", filter=Q(http_status__gte=500)))
    return ErrorRate(
        calls=found["calls"],
        errors=found["errors"],
        since=since,
        capped=found["calls"] >= CAP_ROWS,
    )
