"""Callback webhooks: the result POSTed to the client's URL, signed, retried on failure."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.accounts.models import Client
from apps.realtime.models import CallbackDelivery
from tests.support.callbacks import verify_signature
from tests.support.celery import final_call
from tests.support.waiting import wait_until

# The client's endpoint listens on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = pytest.mark.usefixtures("egress_private")

LATEST = "/api/v1/services/currency/latest_rates/"


class Receiver:
    """A client's webhook endpoint on a local port: answers 500 to the first delivery."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str], int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if not receiver.received else 204
                receiver.received.append((body, dict(self.headers), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/gateway"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.mark.django_db(transaction=True)
def test_the_result_is_posted_signed_and_retried_after_a_failed_delivery(
    api, caller, sandbox_only, celery_worker, receiver, settings
):
    # given a client endpoint that fails the first delivery; deliveries back off from 0.2 s
    settings.GATEWAY_CALLBACK_BACKOFF_S = 0.2

    # when a background call names it as its callback URL
    accepted = api.post(
        LATEST,
        json.dumps({"base": "EUR"}),
        content_type="application/json",
        headers={**caller.headers, "Prefer": "respond-async", "X-Callback-URL": receiver.url},
    )
    assert accepted.status_code == 202
    call = final_call(accepted.json()["request_id"])

    # then the result arrives on the second delivery, signed with the client's secret
    wait_until(lambda: len(receiver.received) >= 2, what="the second delivery")
    body, headers, _ = receiver.received[1]
    secret = Client.objects.get(pk=caller.client.pk).webhook_secret
    assert verify_signature(headers["X-Signature"], body, secret, tolerance_s=300)
    delivered = json.loads(body)
    assert (delivered["request_id"], delivered["status"]) == (call.request_id, "succeeded")
    assert delivered["result"]["data"]["base"] == "EUR"
    # and both attempts are logged, the first with the endpoint's error
    deliveries = wait_until(
        lambda: (
            list(CallbackDelivery.objects.filter(call=call).order_by("attempt"))[1:]
            and list(CallbackDelivery.objects.filter(call=call).order_by("attempt"))
        ),
        what="both deliveries logged",
    )
    assert [(d.attempt, d.status_code, d.delivered) for d in deliveries] == [
        (1, 500, False),
        (2, 204, True),
    ]
    assert deliveries[0].error.startswith("HTTP 500")


def test_a_callback_url_must_be_http(api, caller, sandbox_only, db):
    # when a background call names a callback that is not an http(s) URL
    response = api.post(
        LATEST,
        "{}",
        content_type="application/json",
        headers={**caller.headers, "Prefer": "respond-async", "X-Callback-URL": "file:///etc"},
    )

    # then it is refused at once
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
