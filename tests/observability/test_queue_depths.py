"""Queue depths at scrape time, from the real RabbitMQ (queues of this test's own), and a
broker that is down or hangs costs its samples, never a slow scrape."""

import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from kombu import Connection, Exchange, Queue

from gateway_project.celery import app
from tests.observability.scrapes import names, value
from tests.support.servers import HangingServer

pytestmark = pytest.mark.django_db(transaction=True)

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def private_queues(settings) -> Iterator[dict[str, str]]:
    """Celery's queue and the MQ consumer's queues, named for this test only."""
    name = f"test-metrics-{uuid.uuid4().hex}"
    queues = {"celery": f"{name}.celery", "calls": name, "dead": f"{name}.dead"}
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(
        broker_url=RABBITMQ_URL, task_always_eager=False, task_default_queue=queues["celery"]
    )
    settings.GATEWAY_MQ_URL = RABBITMQ_URL
    settings.GATEWAY_MQ_QUEUE = queues["calls"]
    settings.GATEWAY_MQ_DEAD_LETTER_QUEUE = queues["dead"]
    yield queues
    app.conf.update(saved)
    with Connection(RABBITMQ_URL) as connection:
        channel = connection.channel()
        for queue in queues.values():
            channel.queue_delete(queue)


def publish(queue: str, count: int) -> None:
    exchange = Exchange("", type="direct")
    with Connection(RABBITMQ_URL, transport_options={"confirm_publish": True}) as connection:
        declared = Queue(queue, exchange, routing_key=queue, durable=False)
        declared.bind(connection.channel()).declare()
        producer = connection.Producer()
        for n in range(count):
            producer.publish({"n": n}, exchange=exchange, routing_key=queue)


def scrape() -> tuple[str, float]:
    started = time.monotonic()
    response = Client().get("/metrics")
    assert response.status_code == 200
    return response.content.decode(), time.monotonic() - started


def test_depths_of_the_celery_queue_the_call_queue_and_the_dead_letter_queue(private_queues):
    # given 3 tasks waiting, 1 MQ call waiting, 2 dead letters; nothing consumes them
    publish(private_queues["celery"], 3)
    publish(private_queues["calls"], 1)
    publish(private_queues["dead"], 2)

    # when
    text, _ = scrape()

    # then
    assert value(text, "gateway_broker_up", broker="celery") == 1
    assert value(text, "gateway_broker_up", broker="mq") == 1
    assert value(text, "gateway_queue_depth", queue=private_queues["celery"]) == 3
    assert value(text, "gateway_queue_depth", queue=private_queues["calls"]) == 1
    assert value(text, "gateway_dead_letter_queue_depth", queue=private_queues["dead"]) == 2
    assert value(text, "gateway_ready", component="broker") == 1


def test_a_queue_not_declared_yet_holds_nothing(private_queues):
    text, _ = scrape()
    assert value(text, "gateway_dead_letter_queue_depth", queue=private_queues["dead"]) == 0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung broker)."""
    with HangingServer() as server:
        yield server.port


@pytest.mark.parametrize("broker", ["refused", "silent"])
def test_a_broker_that_is_down_gives_no_depths_and_a_quick_scrape(
    private_queues, settings, silent_broker, broker
):
    # given the MQ broker refuses connections, or accepts them and never answers
    port = _closed_port() if broker == "refused" else silent_broker
    settings.GATEWAY_MQ_URL = f"amqp://guest:guest@127.0.0.1:{port}//"
    publish(private_queues["celery"], 1)

    # when
    text, took = scrape()

    # then the MQ broker reads down, without samples; Celery's broker is still read
    assert value(text, "gateway_broker_up", broker="mq") == 0
    assert "gateway_dead_letter_queue_depth" not in names(text)
    assert value(text, "gateway_queue_depth", queue=private_queues["calls"]) is None
    assert value(text, "gateway_queue_depth", queue=private_queues["celery"]) == 1
    assert value(text, "gateway_ready", component="broker") == 0
    assert took < 4.0
