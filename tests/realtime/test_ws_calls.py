"""WS /ws/calls/: calls made over a websocket, through the real ASGI application."""

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from apps.ledger.models import LedgerEntry
from tests.support.websockets import socket_for

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_call_over_the_socket_is_routed_charged_and_recorded(caller, sandbox_only):
    # given the client's socket, opened with its API key
    socket = socket_for(caller.key)
    connected, _ = await socket.connect()
    assert connected

    # when it sends a call
    await socket.send_json_to(
        {
            "service": "currency",
            "method": "latest_rates",
            "payload": {"base": "EUR", "symbols": ["USD"]},
            "request_id": "ws-call-1",
        }
    )
    answer = await socket.receive_json_from(timeout=10)
    await socket.disconnect()

    # then it gets the same answer an HTTP call would, and the ledger says it came by ws
    assert (answer["http_status"], answer["status"], answer["request_id"]) == (
        200,
        "succeeded",
        "ws-call-1",
    )
    assert list(answer["data"]["rates"]) == ["USD"]
    assert (answer["provider"], answer["price"]) == ("sandbox", "0.0100")
    entry = await database_sync_to_async(LedgerEntry.objects.get)()
    assert (entry.channel, entry.request_id, entry.price) == ("ws", "ws-call-1", Decimal("0.0100"))


async def test_a_socket_without_a_valid_key_is_refused(caller, sandbox_only):
    socket = socket_for("nope.nothing")

    connected, _ = await socket.connect()

    assert not connected


async def test_a_bad_message_gets_a_problem_and_the_socket_stays_open(caller, sandbox_only):
    socket = socket_for(caller.key)
    await socket.connect()

    # when the first message is not a call, and the second asks for an unknown currency
    await socket.send_to(text_data="{not json")
    first = await socket.receive_json_from(timeout=10)
    await socket.send_json_to(
        {"service": "currency", "method": "latest_rates", "payload": {"base": "euro"}}
    )
    second = await socket.receive_json_from(timeout=10)
    await socket.disconnect()

    # then each gets its problem, and only the call that reached the pipeline is recorded
    assert (first["http_status"], first["type"]) == (400, "/problems/invalid-request")
    assert (second["http_status"], second["type"]) == (400, "/problems/validation-error")
    assert "base" in second["errors"]
    entry = await database_sync_to_async(LedgerEntry.objects.get)()
    assert (entry.channel, entry.status, entry.price) == ("ws", "rejected", Decimal("0"))
