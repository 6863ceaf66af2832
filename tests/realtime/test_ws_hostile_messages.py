"""Hostile messages on WS /ws/calls/: a problem answer and the socket stays open, never a
dropped socket, and nothing recorded under a name that is not a slug."""

import pytest
from channels.db import database_sync_to_async

from apps.ledger.models import LedgerEntry
from tests.support.websockets import socket_for

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = '{"service": "currency", "method": "latest_rates", "payload": {"x": %s}}' % (
    "[" * 100_000 + "]" * 100_000
)
CALL = {"service": "currency", "method": "latest_rates", "payload": {"base": "EUR"}}


async def test_a_deep_or_oversized_message_gets_a_problem_and_the_socket_stays_open(
    caller, sandbox_only, settings
):
    # given an open socket
    socket = socket_for(caller.key)
    assert (await socket.connect())[0]

    # when it sends a 100,000-deep message, a message over a 2 kB limit, then a call
    await socket.send_to(text_data=DEEP)
    deep = await socket.receive_json_from(timeout=10)
    settings.GATEWAY_MAX_BODY_BYTES = 2048
    await socket.send_json_to({**CALL, "payload": {"base": "EUR", "pad": "x" * 4096}})
    large = await socket.receive_json_from(timeout=10)
    await socket.send_json_to(CALL)
    served = await socket.receive_json_from(timeout=10)
    await socket.disconnect()

    # then
    assert (deep["http_status"], deep["status"]) == (400, 400)
    assert "deeper than" in deep["detail"]
    assert (large["http_status"], large["type"]) == (413, "/problems/payload-too-large")
    assert all(answer["request_id"] for answer in (deep, large))
    assert (served["http_status"], served["status"]) == (200, "succeeded")
    assert await database_sync_to_async(LedgerEntry.objects.count)() == 1


@pytest.mark.parametrize(
    ("service", "method", "field"),
    [
        ('=HYPERLINK("http://evil")', "latest_rates", "service"),
        ("currency", "latest_rates\n", "method"),
        ("currency", "x" * 51, "method"),
        ("", "latest_rates", "service"),
    ],
    ids=["formula", "newline", "too-long", "empty"],
)
async def test_a_name_that_is_no_slug_is_refused_over_the_socket_and_never_recorded(
    caller, sandbox_only, service, method, field
):
    # given
    socket = socket_for(caller.key)
    await socket.connect()

    # when
    await socket.send_json_to({"service": service, "method": method, "payload": {}})
    answer = await socket.receive_json_from(timeout=10)
    await socket.disconnect()

    # then
    assert answer["http_status"] == 400
    assert list(answer["errors"]) == [field]
    assert all(name not in answer["detail"] for name in (service, method) if name)
    assert not await database_sync_to_async(LedgerEntry.objects.exists)()
