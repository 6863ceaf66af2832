"""Background calls run by a real Celery worker, and calls from the queue consumer, log with
the request id of the call they work on (LOG_FORMAT=json's handler, on RabbitMQ)."""

import io
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.core.management import call_command

from apps.core.logging import JsonFormatter, RequestIdFilter, SecretMaskFilter
from apps.gateway.tasks import run_async_call
from apps.realtime.models import AsyncCall
from gateway_project.asgi import application
from tests.support.calls import LATEST
from tests.support.celery import final_call
from tests.support.mq import send
from tests.support.servers import Listener
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("egress_private")]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every record of this process, as LOGGING writes it with LOG_FORMAT=json."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretMaskFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield written
    root.removeHandler(handler)
    root.setLevel(level)


def lines_of(log: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.getvalue().splitlines() if line.strip()]


def access_records(log: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in lines_of(log) if line["logger"] == "gateway.access"]


def test_a_background_call_logs_with_its_request_id_in_the_worker(
    api,
    caller,
    failing_fixer_then_sandbox: Listener,
    celery_worker,
    json_log,
):
    # given a worker on RabbitMQ, fixer failing and the sandbox behind it
    # when a client's call is answered 202 and run in the background
    accepted = api.post(
        LATEST,
        json.dumps({"base": "EUR", "symbols": ["USD"]}),
        content_type="application/json",
        headers={**caller.headers, "Prefer": "respond-async", "X-Request-ID": "bg-0815"},
    )
    assert accepted.status_code == 202, accepted.content
    assert final_call("bg-0815").status == "succeeded"

    # then the worker's record of fixer's failure carries the call's request id
    lines = lines_of(json_log)
    failures = [line for line in lines if "provider fixer failed" in line["message"]]
    assert failures, lines
    assert {line["request_id"] for line in failures} == {"bg-0815"}
    assert failing_fixer_then_sandbox.received
    # and the call has two access records (docs/operations.md): the 202's, nothing charged yet,
    # and the run's (written once the task's body is over) with its outcome
    wait_until(lambda: len(access_records(json_log)) == 2, what="the run's access record")
    [answered, run] = access_records(json_log)
    assert (answered["request_id"], answered["channel"], answered["status"]) == (
        "bg-0815",
        "http",
        202,
    )
    assert (answered["client"], answered["price"]) == ("acme", None)
    assert run["request_id"] == "bg-0815"
    assert (run["channel"], run["status"], run["provider"], run["client"]) == (
        "async",
        200,
        "sandbox",
        "acme",
    )
    assert Decimal(run["price"]) == Decimal("0.0100")

    # and when the task is sent again without the request id (as the stale-call sweep does)
    run_async_call.delay(AsyncCall.objects.get(request_id="bg-0815").pk)

    # then that run (finding the call final, doing nothing) still logs under the call's id
    wait_until(lambda: len(access_records(json_log)) == 3, what="the second run's record")
    assert access_records(json_log)[2]["request_id"] == "bg-0815"


def test_the_consumer_logs_each_message_with_its_request_id_and_one_access_record(
    caller,
    failing_fixer_then_sandbox: Listener,
    mq,
    json_log,
):
    # given a call message whose correlation id is its request id
    command = {
        "service": "currency",
        "method": "latest_rates",
        "payload": {"base": "EUR", "symbols": ["USD"]},
        "client": "acme",
    }
    send(mq, command, correlation_id="order-8")

    # when the consumer runs it (fixer fails, the sandbox serves)
    call_command("consume_calls", "--max-messages=1", "--idle-timeout=10")

    # then fixer's failure and the call's access record carry the message's request id
    lines = lines_of(json_log)
    [failure] = [line for line in lines if "provider fixer failed" in line["message"]]
    assert failure["request_id"] == "order-8"
    [access] = [line for line in lines if line["logger"] == "gateway.access"]
    assert access["request_id"] == "order-8"
    assert (access["channel"], access["status"], access["provider"], access["client"]) == (
        "mq",
        200,
        "sandbox",
        "acme",
    )
    assert Decimal(access["price"]) == Decimal("0.0100")
    # and nothing outside the message carries its id
    assert all(line["request_id"] in (None, "order-8") for line in lines)


async def test_a_websocket_call_gets_its_access_record(caller, sandbox_only, json_log):
    # given a client's socket
    socket = WebsocketCommunicator(
        application, "/ws/calls/", headers=[(b"authorization", f"Api-Key {caller.key}".encode())]
    )
    assert (await socket.connect())[0]

    # when it sends a call with its own request id
    await socket.send_json_to(
        {"service": "currency", "method": "latest_rates", "payload": {}, "request_id": "ws-9"}
    )
    answer = await socket.receive_json_from(timeout=10)
    await socket.disconnect()

    # then the call's access record names it, its channel and its outcome
    assert answer["http_status"] == 200
    [access] = access_records(json_log)
    assert (access["request_id"], access["channel"], access["status"]) == ("ws-9", "ws", 200)
    assert (access["client"], access["provider"], access["price"]) == ("acme", "sandbox", "0.0100")
