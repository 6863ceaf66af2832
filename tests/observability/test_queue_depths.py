"""Queue depths at scrape time, from the real RabbitMQ (queues of this test's own), and a
broker that is down or hangs costs its samples, never a slow scrape."""

import time

import pytest
from django.test import Client

from tests.observability.brokers import publish
from tests.observability.scrapes import names, value
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


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


@pytest.mark.parametrize("broker", ["refused", "silent"])
def test_a_broker_that_is_down_gives_no_depths_and_a_quick_scrape(
    private_queues, settings, silent_broker, broker
):
    # given the MQ broker refuses connections, or accepts them and never answers
    port = free_port() if broker == "refused" else silent_broker
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
