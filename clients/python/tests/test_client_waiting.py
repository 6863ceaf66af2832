"""Waiting for a background call: the websocket push, and polling when it cannot be had.

The gateway's side is faked in its documented shapes (docs/async.md); the live tests
(test_client_live.py) wait on the real endpoints."""

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from websockets.sync.server import ServerConnection, serve

from gateway_client import Gateway, PendingCall, ProvidersFailed

FINAL = {
    "request_id": "r-1",
    "service": "currency",
    "method": "latest_rates",
    "status": "succeeded",
    "http_status": 200,
    "result": {"request_id": "r-1", "status": "succeeded", "data": {"ok": True}},
}
FAILED = {
    "request_id": "r-1",
    "status": "failed",
    "http_status": 502,
    "result": {"type": "/problems/providers-failed", "title": "T", "status": 502, "detail": "D"},
}


class Pusher:
    """WS /ws/requests/{id}/ that sends `message` after `delay` seconds, then closes."""

    def __init__(self, message: dict[str, Any], delay: float) -> None:
        self.message, self.delay = message, delay
        self.handshakes: list[dict[str, str]] = []

    def __call__(self, socket: ServerConnection) -> None:
        assert socket.request is not None
        headers = socket.request.headers
        self.handshakes.append(
            {"path": socket.request.path, "authorization": headers.get("Authorization", "")}
        )
        time.sleep(self.delay)
        socket.send(json.dumps(self.message))


@pytest.fixture
def push_server() -> Iterator[Any]:
    servers = []

    def start(message: dict[str, Any], delay: float) -> tuple[str, Pusher]:
        pusher = Pusher(message, delay)
        server = serve(pusher, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.socket.getsockname()[1]}", pusher

    yield start
    for server in servers:
        server.shutdown()


def pending_call(base_url: str, get_view: Any) -> PendingCall:
    return PendingCall(
        get_view,
        request_id="r-1",
        method="currency.latest_rates",
        status_url="/api/v1/requests/r-1/",
        websocket_url="/ws/requests/r-1/?token=t",
        base_url=base_url,
        auth_headers={"Authorization": "Api-Key k"},
    )


def never_polled(url: str) -> dict[str, Any]:
    raise AssertionError("the status URL was polled")


def test_wait_takes_the_result_pushed_when_it_lands(push_server):
    base_url, pusher = push_server(FINAL, delay=0.5)

    done = pending_call(base_url, never_polled).wait(timeout=10)

    assert done.data == {"ok": True}
    assert done.request_id == "r-1"
    assert pusher.handshakes[0]["path"] == "/ws/requests/r-1/?token=t"
    assert pusher.handshakes[0]["authorization"] == "Api-Key k"


def test_a_failure_pushed_is_raised_as_its_problem(push_server):
    base_url, _ = push_server(FAILED, delay=0)

    with pytest.raises(ProvidersFailed) as raised:
        pending_call(base_url, never_polled).wait(timeout=10)

    assert raised.value.detail == "D"


def test_a_call_not_final_in_time_is_a_timeout_after_one_last_look(push_server):
    base_url, _ = push_server(FINAL, delay=5)
    looked: list[str] = []

    def running(url: str) -> dict[str, Any]:
        looked.append(url)
        return {"request_id": "r-1", "status": "running"}

    with pytest.raises(TimeoutError, match="still running"):
        pending_call(base_url, running).wait(timeout=0.5)

    assert looked == ["/api/v1/requests/r-1/"]


def test_wait_polls_the_status_url_when_the_websocket_cannot_be_opened():
    # given a gateway whose websocket port refuses connections (nothing listens on port 9)
    base = "http://127.0.0.1:9"
    status = "/api/v1/requests/r-1/"
    final = {
        "request_id": "r-1",
        "status": "succeeded",
        "http_status": 200,
        "result": {"request_id": "r-1", "data": {"ok": True}},
    }
    with respx.mock(base_url=base) as router:
        router.get("/api/v1/services/").respond(json=[])
        router.post("/api/v1/services/currency/latest_rates/").respond(
            202,
            json={
                "request_id": "r-1",
                "status": "pending",
                "status_url": status,
                "websocket_url": "/ws/requests/r-1/?token=t",
            },
        )
        polled = router.get(status).mock(
            side_effect=[
                httpx.Response(200, json={"status": "running"}),
                httpx.Response(200, json=final),
            ]
        )
        pending = Gateway(base, "k").submit("currency.latest_rates", base="EUR")

        # when the user waits
        done = pending.wait(timeout=10)

    # then the status URL gave the result
    assert done.data == {"ok": True}
    assert polled.call_count == 2
    assert pending.websocket_address == "ws://127.0.0.1:9/ws/requests/r-1/?token=t"
