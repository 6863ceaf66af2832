"""Call events: a compact record of each finished call, published to a topic exchange for
other systems (as the original system published its request log). Off by default
(GATEWAY_CALL_EVENTS_ENABLED); routing key `call.<service>.<method>.<status>`."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from kombu import Connection, Exchange
from kombu.pools import producers

from apps.ledger.models import LedgerEntry

logger = logging.getLogger(__name__)

_connections: dict[str, Connection] = {}
_lock = threading.Lock()


def call_event(entry: LedgerEntry, *, client: str) -> dict[str, Any]:
    return {
        "request_id": entry.request_id,
        "client": client,
        "service": entry.service,
        "method": entry.method,
        "channel": entry.channel,
        "status": entry.status,
        "http_status": entry.http_status,
        "provider": entry.provider,
        "price": str(entry.price),
        "cost": str(entry.cost),
        "currency": entry.currency,
        "cached": entry.cached,
        "latency_ms": entry.latency_ms,
        "created_at": entry.created_at.isoformat(),
    }


def _connection() -> Connection:
    url = settings.GATEWAY_MQ_URL
    with _lock:
        if url not in _connections:
            _connections[url] = Connection(url, connect_timeout=2)
        return _connections[url]


def call_event_publish(event: dict[str, Any]) -> None:
    """Publish one event (persistent, JSON); the exchange is declared on first use."""
    exchange = Exchange(settings.GATEWAY_CALL_EVENTS_EXCHANGE, "topic", durable=True)
    routing_key = f"call.{event['service']}.{event['method']}.{event['status']}"
    with producers[_connection()].acquire(block=True, timeout=2) as producer:
        producer.publish(
            event,
            serializer="json",
            exchange=exchange,
            routing_key=routing_key,
            declare=[exchange],
            delivery_mode=2,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
        )
