"""WS /ws/requests/{id}/ through the real ASGI application (channels-redis on Redis)."""

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from channels.testing import WebsocketCommunicator

from apps.gateway.background_run import async_call_run
from apps.realtime.models import AsyncCall
from gateway_project.asgi import application
from gateway_project.celery import app
from tests import factories
from tests.support.asgi import asgi_request

LATEST = "/api/v1/services/currency/latest_rates/"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued_only() -> Iterator[None]:
    """Tasks go to the (in-memory) broker and no worker takes them: the test runs the
    worker's part itself, when it wants the call to finish."""
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


async def start_call(caller) -> dict:
    answer = await asgi_request(
        "POST",
        LATEST,
        body=json.dumps({"base": "EUR", "symbols": ["USD"]}).encode(),
        headers={**caller.headers, "Content-Type": "application/json", "Prefer": "respond-async"},
    )
    assert answer.status == 202
    return answer.json()


def key_header(key: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Api-Key {key}".encode())]


async def test_the_result_is_pushed_when_the_call_finishes(caller, sandbox_only, queued_only):
    # given a background call not yet run, and its client's socket open
    accepted = await start_call(caller)
    socket = WebsocketCommunicator(
        application, f"/ws/requests/{accepted['request_id']}/", headers=key_header(caller.key)
    )
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_nothing(timeout=0.2)

    # when a worker runs the call
    call = await AsyncCall.objects.aget(request_id=accepted["request_id"])
    await async_call_run(call_id=call.pk)

    # then the socket gets the result once, and is closed
    message = await socket.receive_json_from(timeout=5)
    assert message["request_id"] == accepted["request_id"]
    assert message["status"] == "succeeded"
    assert message["result"]["data"]["base"] == "EUR"
    assert (await socket.receive_output(timeout=5))["type"] == "websocket.close"
    await socket.disconnect()


async def test_an_already_final_result_is_sent_on_connect_with_the_202_token(caller, sandbox_only):
    # given a call that finished before anyone listened (eager mode runs it at once)
    accepted = await start_call(caller)

    # when the client opens the websocket_url of the 202 (its short-lived token, no key)
    socket = WebsocketCommunicator(application, accepted["websocket_url"])
    connected, _ = await socket.connect()

    # then the result is sent at once
    assert connected
    message = await socket.receive_json_from(timeout=5)
    assert (message["status"], message["http_status"]) == ("succeeded", 200)
    assert Decimal(str(message["result"]["data"]["rates"]["USD"])) > 0
    await socket.disconnect()


async def test_another_client_is_refused(caller, sandbox_only, queued_only):
    # given a call of acme's, and another client with a valid key
    accepted = await start_call(caller)
    other = await factories_client_with_key()

    # when the other client opens acme's call's socket with its own key
    socket = WebsocketCommunicator(
        application, f"/ws/requests/{accepted['request_id']}/", headers=key_header(other)
    )
    connected, _ = await socket.connect()

    # then the handshake is refused
    assert not connected
    await socket.disconnect()


@pytest.mark.parametrize(
    "query", ["", "?token=forged", "?token={other_token}"], ids=["none", "forged", "other-call"]
)
async def test_a_socket_without_a_valid_credential_is_refused(
    caller, sandbox_only, queued_only, query
):
    # given two calls of acme's
    first, second = await start_call(caller), await start_call(caller)
    other_token = second["websocket_url"].partition("?token=")[2]

    # when the first call's socket is opened with no key and no token, a forged one, or the
    # token of the second call
    socket = WebsocketCommunicator(
        application,
        f"/ws/requests/{first['request_id']}/" + query.format(other_token=other_token),
    )
    connected, _ = await socket.connect()

    # then it is refused
    assert not connected
    await socket.disconnect()


async def factories_client_with_key() -> str:
    from asgiref.sync import sync_to_async

    def make() -> str:
        plan = factories.PlanFactory(slug="other-plan")
        return factories.api_key_for(factories.ClientFactory(slug="other", plan=plan))

    return await sync_to_async(make)()
