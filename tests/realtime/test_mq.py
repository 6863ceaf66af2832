"""manage.py consume_calls: call messages on the real RabbitMQ, through the pipeline."""

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.management import call_command
from kombu import Connection, Exchange, Queue

from apps.gateway.mq import DEAD_REASON
from apps.ledger.models import LedgerEntry
from tests.support.celery import RABBITMQ_URL
from tests.support.mq import send, take

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_becomes_a_call_on_the_ledger_and_its_reply_goes_to_reply_to(
    caller, sandbox_only, mq
):
    # given a reply queue, and a call command for acme
    reply_queue = f"{mq.queue.name}.reply"
    with Connection(RABBITMQ_URL) as connection:
        Queue(reply_queue, Exchange(""), routing_key=reply_queue, auto_delete=True).bind(
            connection.default_channel
        ).declare()
    send(
        mq,
        {
            "service": "currency",
            "method": "latest_rates",
            "payload": {"base": "EUR", "symbols": ["USD"]},
            "client": "acme",
            "reply_to": reply_queue,
        },
        correlation_id="order-7",
    )

    # when the consumer runs
    call_command("consume_calls", "--max-messages=1", "--idle-timeout=10")

    # then the call is on the ledger, charged, with channel mq, and the reply names it
    entry = LedgerEntry.objects.get()
    assert (entry.channel, entry.status, entry.client) == ("mq", "succeeded", caller.client)
    assert entry.price == Decimal("0.0100")
    reply = take(reply_queue)
    assert reply.properties["correlation_id"] == "order-7"
    answer = json.loads(reply.body)
    assert (answer["http_status"], answer["status"]) == (200, "succeeded")
    assert answer["request_id"] == entry.request_id
    assert set(answer["data"]["rates"]) == {"USD"}


def test_an_untame_correlation_id_becomes_a_stable_request_id_of_our_own(caller, sandbox_only, mq):
    # given a producer whose correlation id would forge a log line and overflow the ledger's
    raw = "order 8\nERROR forged line " + "x" * 200
    for _ in range(2):  # the same message, sent twice (a producer's redelivery)
        send(
            mq,
            {
                "service": "currency",
                "method": "latest_rates",
                "payload": {"base": "EUR"},
                "client": "acme",
            },
            correlation_id=raw,
        )

    # when the consumer runs
    call_command("consume_calls", "--max-messages=2", "--idle-timeout=10")

    # then both calls carry one tame id derived from it, not the producer's text
    ids = set(LedgerEntry.objects.values_list("request_id", flat=True))
    assert len(ids) == 1
    (request_id,) = ids
    assert "\n" not in request_id and len(request_id) == 36


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed: the body is not JSON"),
        ({"service": "currency", "method": "latest_rates", "client": 7}, "malformed: 'client'"),
        ({"service": "currency", "method": "latest_rates", "client": "nobody"}, "unknown client"),
        ({"service": "currency", "method": "no_such", "client": "acme"}, "unknown method"),
    ],
    ids=["not-json", "wrong-type", "unknown-client", "unknown-method"],
)
def test_a_message_that_cannot_be_a_call_goes_to_the_dead_letter_queue_with_its_reason(
    caller, sandbox_only, mq, body, reason
):
    # given a message that is not a call acme can make
    send(mq, body)

    # when the consumer runs
    call_command("consume_calls", "--max-messages=1", "--idle-timeout=10")

    # then the message is in the dead-letter queue, the reason in its headers, and nothing
    # was charged
    dead = take(mq.dead.name)
    assert dead.headers[DEAD_REASON].startswith(reason)
    received = dead.body if isinstance(dead.body, bytes) else dead.body.encode()
    assert received == (body if isinstance(body, bytes) else json.dumps(body).encode())
    assert not LedgerEntry.objects.filter(price__gt=0).exists()


def test_a_provider_fault_is_delivered_again_after_a_backoff_then_dead_lettered(
    caller, sandbox_only, mq, settings
):
    # given a call whose only provider is down, and two deliveries allowed
    sandbox_only.enabled = False
    sandbox_only.save()
    settings.GATEWAY_MQ_MAX_DELIVERIES = 2
    settings.GATEWAY_MQ_RETRY_BACKOFF_S = 0.2
    send(mq, {"service": "currency", "method": "latest_rates", "client": "acme"})

    # when the consumer runs until both deliveries are handled
    call_command("consume_calls", "--max-messages=2", "--idle-timeout=10")

    # then it was tried twice (two ledger rows, nothing charged) and then dead-lettered
    assert list(LedgerEntry.objects.values_list("channel", "http_status", "price")) == [
        ("mq", 503, Decimal("0")),
        ("mq", 503, Decimal("0")),
    ]
    dead = take(mq.dead.name)
    assert dead.headers[DEAD_REASON].startswith("gave up after 2 deliveries: HTTP 503")


@pytest.fixture
def call_events(settings) -> Iterator[str]:
    """Call events switched on, into this test's own exchange and a queue bound to it."""
    name = f"test-events-{uuid.uuid4().hex}"
    settings.GATEWAY_MQ_URL = RABBITMQ_URL
    settings.GATEWAY_CALL_EVENTS_ENABLED = True
    settings.GATEWAY_CALL_EVENTS_EXCHANGE = name
    exchange = Exchange(name, "topic", durable=True)
    with Connection(RABBITMQ_URL) as connection:
        Queue(name, exchange, routing_key="call.currency.#").bind(
            connection.default_channel
        ).declare()
    yield name
    with Connection(RABBITMQ_URL) as connection:
        connection.default_channel.queue_delete(name)
        connection.default_channel.exchange_delete(name)


def test_every_finished_call_is_published_as_an_event_when_enabled(
    api, caller, sandbox_only, call_events
):
    # when a client calls over HTTP
    response = api.post(
        "/api/v1/services/currency/latest_rates/",
        json.dumps({"base": "EUR"}),
        content_type="application/json",
        headers=caller.headers,
    )

    # then other systems get a compact record of it on the events exchange
    assert response.status_code == 200
    event = take(call_events)
    assert event.delivery_info["routing_key"] == "call.currency.latest_rates.succeeded"
    record = json.loads(event.body)
    assert record["request_id"] == response.json()["request_id"]
    assert (record["client"], record["channel"], record["provider"]) == ("acme", "http", "sandbox")
    assert (record["price"], record["currency"]) == ("0.0100", "USD")


# Hostile messages: dead-lettered, and the consumer goes on (a 100,000-deep message was a
# RecursionError that crashed it, unacknowledged, again on every redelivery).
DEEP_CALL = '{"service": "currency", "method": "latest_rates", "payload": {"x": %s}}' % (
    "[" * 100_000 + "]" * 100_000
)
HOSTILE_CALL = {"service": "currency", "method": "latest_rates", "payload": {"base": "EUR"}}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DEEP_CALL.replace('"payload"', '"client": "acme", "payload"').encode(), "malformed"),
        ({**HOSTILE_CALL, "client": "acme", "payload": {"pad": "x" * 4096}}, "too large"),
        ({**HOSTILE_CALL, "client": "acme", "service": "=cmd|' /C calc'!A0"}, "invalid payload"),
    ],
    ids=["deep", "too-large", "not-a-slug"],
)
def test_a_hostile_message_is_dead_lettered_and_the_consumer_goes_on(
    caller, sandbox_only, mq, settings, body, reason
):
    # given a hostile message, then a good one
    if reason == "too large":
        settings.GATEWAY_MAX_BODY_BYTES = 2048
    send(mq, body)
    send(mq, {**HOSTILE_CALL, "client": "acme"})

    # when the consumer runs over both (before, a deep message crashed it, unacknowledged)
    call_command("consume_calls", "--max-messages=2", "--idle-timeout=10")

    # then the first is dead-lettered with its reason, the second served, and only it recorded
    dead = take(mq.dead.name)
    assert dead.headers[DEAD_REASON].startswith(reason)
    assert list(LedgerEntry.objects.values_list("service", "status")) == [("currency", "succeeded")]


def test_a_deep_message_is_kept_as_sent_in_the_dead_letter_queue(caller, sandbox_only, mq):
    # given
    body = DEEP_CALL.replace('"payload"', '"client": "acme", "payload"').encode()
    send(mq, body)

    # when
    call_command("consume_calls", "--max-messages=1", "--idle-timeout=10")

    # then: kept as sent for whoever investigates, and acknowledged (not left to crash again)
    dead = take(mq.dead.name)
    received = dead.body if isinstance(dead.body, bytes) else dead.body.encode()
    assert received == body
    assert "deeper than 64 levels" in dead.headers[DEAD_REASON]
    with Connection(RABBITMQ_URL) as connection:
        queue = Queue(mq.queue.name, no_declare=True)(connection.default_channel)
        assert queue.get(no_ack=True) is None
