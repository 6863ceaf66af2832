"""A real Celery worker on the real RabbitMQ (fixtures, registered by tests/conftest.py), and
waiting for the background calls it runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from kombu import Connection, pools

from apps.realtime.models import AsyncCall
from gateway_project.celery import app
from tests.support.waiting import wait_until

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def celery_queue() -> Iterator[str]:
    """A queue of this test's own on RabbitMQ (other engineers' workers share the broker)."""
    name = f"test-gateway-{uuid.uuid4().hex}"
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=RABBITMQ_URL, task_always_eager=False, task_default_queue=name)
    _forget_broker_pools()  # they were made for the previous broker URL
    yield name
    app.conf.update(saved)
    _forget_broker_pools()
    with Connection(RABBITMQ_URL) as connection:
        channel = connection.default_channel
        channel.queue_delete(name)


def _forget_broker_pools() -> None:
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()  # kombu's process-wide producer pools, keyed by broker URL


@pytest.fixture
def celery_worker(celery_queue: str, transactional_db: None) -> Iterator[Any]:
    """A Celery worker thread consuming this test's queue (its own database connection:
    what the test commits, the worker sees)."""
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        queues=[celery_queue],
        perform_ping_check=False,
        shutdown_timeout=30,
        loglevel="WARNING",
    ) as worker:
        yield worker


def final_call(request_id: str, *, timeout: float = 30.0) -> AsyncCall:
    """The background call once a worker has finished it."""
    return wait_until(
        lambda: AsyncCall.objects.filter(request_id=request_id, status__in=AsyncCall.FINAL).first(),
        timeout=timeout,
        what=f"background call {request_id} to finish",
    )
