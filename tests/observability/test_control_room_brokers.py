"""The control room's dead-letter line, from the real RabbitMQ; a broker or a Redis that is
down reads "unknown" in our words, and the admin index still renders within the bound."""

import time

import pytest
from django.test import Client as HttpClient

from apps.core import state
from apps.monitoring import queues
from tests.factories import staff_user
from tests.observability.admin_index import page, panel
from tests.observability.brokers import publish
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client: HttpClient) -> HttpClient:
    client.force_login(staff_user("night-ops", "ops"))
    return client


def test_dead_letters_show_their_queue_and_count(ops, fixer_only, private_queues):
    publish(private_queues["dead"], 2)

    text = panel(page(ops))

    assert f"Dead-letter queue {private_queues['dead']}: 2 messages." in text
    assert "x-gateway-dead-reason" in text


def test_an_empty_dead_letter_queue_is_calm(ops, fixer_only, private_queues):
    assert "Nothing needs attention" in panel(page(ops))


@pytest.mark.parametrize(
    ("broker", "why"),
    [
        ("refused", "the mq broker could not be reached"),
        ("silent", "the mq broker did not answer within 300 ms"),
    ],
)
def test_a_broker_that_is_down_reads_unknown_and_the_index_renders_in_time(
    ops, fixer_only, private_queues, settings, silent_broker, broker, why, monkeypatch
):
    # given the MQ broker refuses connections, or accepts them and never answers, and its
    # probe alone would wait 5 s for each step
    monkeypatch.setattr(queues, "STEP_TIMEOUT_S", 5.0)
    port = free_port() if broker == "refused" else silent_broker
    settings.GATEWAY_MQ_URL = f"amqp://guest:guest@127.0.0.1:{port}//"

    # when
    started = time.monotonic()
    text = panel(page(ops))
    took = time.monotonic() - started

    # then the line says so in our words, with no library text and no URL
    assert f"Dead-letter queue: unknown, {why}." in text
    assert "guest" not in text and "Error" not in text
    assert took < 2.5  # 300 ms and the page on a busy machine; not the 5 s


def test_redis_unreachable_makes_the_breakers_unknown(ops, fixer_only):
    state.note_redis_unreachable("test")

    text = panel(page(ops))

    assert "Breakers and providers: unknown, Redis (breakers) could not be read." in text
    assert "Nothing needs attention" not in text
