"""The call queue on the real RabbitMQ: a topology of the test's own (the `mq` fixture,
registered by tests/conftest.py), sending a call message and taking one from a queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Queue

from apps.gateway.mq import Topology
from tests.support.celery import RABBITMQ_URL
from tests.support.waiting import wait_until


@pytest.fixture
def mq(settings: Any) -> Iterator[Topology]:
    """This test's own call queue, retry queue, dead-letter queue and exchange."""
    name = f"test-calls-{uuid.uuid4().hex}"
    settings.GATEWAY_MQ_URL = RABBITMQ_URL
    settings.GATEWAY_MQ_EXCHANGE = name
    settings.GATEWAY_MQ_QUEUE = name
    settings.GATEWAY_MQ_DEAD_LETTER_QUEUE = f"{name}.dead"
    topology = Topology.from_settings()
    with Connection(RABBITMQ_URL) as connection:
        topology.declare(connection)
    yield topology
    with Connection(RABBITMQ_URL) as connection:
        channel = connection.default_channel
        for queue in (topology.queue, topology.retry, topology.dead):
            channel.queue_delete(queue.name)
        channel.exchange_delete(topology.exchange.name)


def send(topology: Topology, body: bytes | dict, **properties: Any) -> None:
    with Connection(RABBITMQ_URL) as connection:
        producer = connection.Producer()
        producer.publish(
            body if isinstance(body, bytes) else json.dumps(body).encode(),
            exchange=topology.exchange,
            routing_key=topology.queue.routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            **properties,
        )


def take(queue_name: str) -> Any:
    """The next message waiting in a queue (acknowledged); fails after 10 s without one."""
    with Connection(RABBITMQ_URL) as connection:
        queue = Queue(queue_name, no_declare=True)(connection.default_channel)
        return wait_until(
            lambda: queue.get(no_ack=True), timeout=10, what=f"a message in {queue_name}"
        )
