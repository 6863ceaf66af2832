"""What `GET /metrics` reads at scrape time: breakers, credit holds, readiness, queue depths.

These are states, not events, so they are read when Prometheus asks rather than counted on
the call path. Each source is read on its own thread, at the same time as the others, and
given SOURCE_TIMEOUT_S: a database, Redis or broker that hangs costs its samples (and its
`gateway_ready` / `gateway_broker_up` turns 0), never a slow scrape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from apps.billing.models import CreditHold
from apps.core import health
from apps.core.db import then_release_connection
from apps.gateway.snapshot import current_snapshot_sync
from apps.monitoring.queues import BrokerReadings, broker_queues, read_broker
from apps.realtime.models import AsyncCall
from apps.routing import breakers

logger = logging.getLogger(__name__)

SOURCE_TIMEOUT_S = 2.0

# gateway_circuit_state's values (docs/operations.md). Open is 1 so `== 1` is "tripped".
CIRCUIT_VALUES = {
    "closed": 0,
    "forced_closed": 0,
    "open": 1,
    "half_open": 2,
    "cooling_down": 3,
    breakers.FORCED_OPEN: 4,
}

T = TypeVar("T")


@dataclass(frozen=True)
class CircuitReading:
    provider: str
    method: str
    state: str


@dataclass
class Readings:
    circuits: list[CircuitReading] | None = None
    holds_open: int | None = None
    holds_dangling: int | None = None
    ready: dict[str, bool] = field(default_factory=dict)
    brokers: BrokerReadings = field(default_factory=BrokerReadings)


async def read_all() -> Readings:
    """Every scrape-time value, each source bounded by SOURCE_TIMEOUT_S."""
    brokers = broker_queues()
    (circuits, holds, redis_ok), depths = await asyncio.gather(
        asyncio.gather(_bounded(_circuits), _bounded(_holds), _redis_ready()),
        asyncio.gather(
            *(_bounded(partial(read_broker, name, *spec)) for name, spec in brokers.items())
        ),
    )
    readings = Readings(circuits=circuits, brokers=BrokerReadings())
    for broker, found in zip(brokers, depths, strict=True):
        readings.brokers.up[broker] = found is not None
        readings.brokers.depths += found or []
    if holds is not None:
        readings.holds_open, readings.holds_dangling = holds
    readings.ready = {
        "database": holds is not None,
        "redis": redis_ok,
        "broker": all(readings.brokers.up.values()),
    }
    return readings


async def _bounded(read: Callable[[], T]) -> T | None:
    """`read()` on a thread of its own, or None when it fails or takes too long."""
    try:
        return await asyncio.wait_for(
            sync_to_async(read, thread_sensitive=False)(),
            SOURCE_TIMEOUT_S,
        )
    except Exception as exc:
        what = getattr(read, "__name__", "a broker")
        logger.warning("metrics: %s not read (%s)", what, type(exc).__name__)
        return None


async def _redis_ready() -> bool:
    try:
        return await asyncio.wait_for(health._redis_ok(), SOURCE_TIMEOUT_S)
    except Exception:
        return False


@then_release_connection
def _circuits() -> list[CircuitReading]:
    """The breaker of every enabled offering, as the call path sees it (one Redis trip)."""
    snapshot = current_snapshot_sync()
    offerings = [
        (route.key, offering) for route in snapshot.methods.values() for offering in route.offerings
    ]
    views = breakers.breaker_views((o.offering_id, o.breaker) for _, o in offerings)
    return [
        CircuitReading(o.provider.slug, method, views[o.offering_id].state)
        for method, o in offerings
    ]


@then_release_connection
def _holds() -> tuple[int, int]:
    """(open holds, dangling holds): dangling as the beat task's release counts them."""
    cutoff = timezone.now() - timedelta(seconds=settings.GATEWAY_DANGLING_HOLD_AGE_S)
    background = AsyncCall.objects.filter(hold_id__isnull=False).exclude(status__in=AsyncCall.FINAL)
    dangling = (
        CreditHold.objects.filter(created_at__lt=cutoff)
        .exclude(id__in=background.values("hold_id"))
        .count()
    )
    return CreditHold.objects.count(), dangling


class ScrapeCollector(Collector):
    """The readings of one scrape as metric families."""

    def __init__(self, readings: Readings) -> None:
        self.readings = readings

    def collect(self) -> Iterator[Metric]:
        r = self.readings
        ready = GaugeMetricFamily(
            "gateway_ready",
            "1 when the component answers this server's readiness check, else 0.",
            labels=["component"],
        )
        for component, ok in sorted(r.ready.items()):
            ready.add_metric([component], 1 if ok else 0)
        yield ready
        if r.circuits is not None:
            yield _circuit_family(r.circuits)
        if r.holds_open is not None and r.holds_dangling is not None:
            yield GaugeMetricFamily(
                "gateway_credit_holds_open",
                "Credit holds taken and not yet settled (calls in flight, background calls).",
                value=r.holds_open,
            )
            yield GaugeMetricFamily(
                "gateway_credit_holds_dangling",
                "Holds older than GATEWAY_DANGLING_HOLD_AGE_S that are no background call's: "
                "their process died mid-call.",
                value=r.holds_dangling,
            )
        if r.brokers.up:
            yield from _broker_families(r.brokers)


def _circuit_family(circuits: list[CircuitReading]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "gateway_circuit_state",
        "Breaker of each enabled offering: 0 closed, 1 open, 2 half-open, 3 cooling down "
        "(429), 4 forced open by ops.",
        labels=["provider", "method"],
    )
    for c in circuits:
        family.add_metric([c.provider, c.method], CIRCUIT_VALUES.get(c.state, 0))
    return family


def _broker_families(readings: BrokerReadings) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "gateway_broker_up",
        "1 when this scrape could read the broker's queues, else 0.",
        labels=["broker"],
    )
    for broker, ok in sorted(readings.up.items()):
        up.add_metric([broker], 1 if ok else 0)
    yield up
    depth = GaugeMetricFamily(
        "gateway_queue_depth",
        "Messages waiting in a work queue (Celery's, the MQ consumer's call queue).",
        labels=["broker", "queue"],
    )
    dead = GaugeMetricFamily(
        "gateway_dead_letter_queue_depth",
        "Messages in the dead-letter queue: calls that could not be taken, kept for ops.",
        labels=["queue"],
    )
    for d in readings.depths:
        if d.dead_letter:
            dead.add_metric([d.queue], d.messages)
        else:
            depth.add_metric([d.broker, d.queue], d.messages)
    yield depth
    yield dead
