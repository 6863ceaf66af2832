"""Callback deliveries go only to public addresses, follow no redirect, read a bounded answer
in a bounded time, and are signed over a timestamp that a receiver checks."""

import json
import socket
import time
from collections.abc import Iterator

import pytest

from apps.accounts.models import Client
from apps.realtime.models import AsyncCall, CallbackDelivery
from apps.realtime.services import callback_deliver
from tests.support.callbacks import LOOPBACK_SPELLINGS, finished_call, verify_signature
from tests.support.servers import Listener

pytestmark = pytest.mark.django_db

LATEST = "/api/v1/services/currency/latest_rates/"


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener("127.0.0.1")
    yield listener
    listener.close()


@pytest.mark.parametrize("spelling", [*LOOPBACK_SPELLINGS, "http://[::1]:{port}/"])
def test_a_stored_callback_url_inside_is_never_delivered_to(spelling):
    # given a listener on loopback (v4 or v6) and a call whose callback URL names it
    listener = Listener("::1" if "[::1]" in spelling else "127.0.0.1")
    call = finished_call(spelling.format(port=listener.port) + "hooks")

    # when the delivery task runs
    try:
        delivery = callback_deliver(call_id=call.pk)
    finally:
        listener.close()

    # then nothing reached the listener and the attempt says why
    assert listener.received == []
    assert delivery is not None and not delivery.delivered
    assert delivery.status_code is None
    assert delivery.error


def test_with_private_addresses_allowed_the_callback_arrives_signed(listener, settings):
    # given the deployer's switch for local development
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True
    call = finished_call(f"http://localhost:{listener.port}/hooks")

    # when
    delivery = callback_deliver(call_id=call.pk)

    # then it arrived, signed over a fresh timestamp and the exact body
    assert delivery is not None and delivery.delivered
    head, _, body = listener.received[0].partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
    secret = Client.objects.get(pk=call.client_id).webhook_secret
    assert verify_signature(headers["X-Signature"], body, secret)
    assert json.loads(body)["request_id"] == call.request_id


def test_a_replayed_signature_is_rejectable_by_its_timestamp(listener, settings):
    # given a delivery received and signed now
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True
    call = finished_call(f"http://127.0.0.1:{listener.port}/hooks")
    callback_deliver(call_id=call.pk)
    head, _, body = listener.received[0].partition(b"\r\n\r\n")
    signature = next(
        line.split(": ", 1)[1] for line in head.decode().split("\r\n") if line.startswith("X-Sig")
    )
    secret = Client.objects.get(pk=call.client_id).webhook_secret
    t = int(dict(p.split("=", 1) for p in signature.split(","))["t"])

    # then it verifies now, not with another timestamp, and not ten minutes later
    assert abs(t - time.time()) < 60
    assert verify_signature(signature, body, secret)
    assert not verify_signature(signature.replace(f"t={t}", f"t={t + 1}"), body, secret)
    assert not verify_signature(signature, body + b" ", secret)
    assert not verify_signature(signature, body, secret, now=time.time() + 600)


def test_a_redirect_is_not_followed(settings):
    # given an allowed endpoint that redirects elsewhere on loopback
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True
    elsewhere = Listener("127.0.0.1")
    redirect = (
        "HTTP/1.1 307 Temporary Redirect\r\n"
        f"Location: http://127.0.0.1:{elsewhere.port}/steal\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode()
    first = Listener("127.0.0.1", answer=redirect)
    call = finished_call(f"http://127.0.0.1:{first.port}/hooks")

    # when
    try:
        delivery = callback_deliver(call_id=call.pk)
    finally:
        first.close()
        elsewhere.close()

    # then the redirect is an answer that is not 2xx, and its target saw nothing
    assert len(first.received) == 1
    assert elsewhere.received == []
    assert delivery is not None and (delivery.status_code, delivery.delivered) == (307, False)


def test_a_huge_answer_is_read_only_up_to_the_cap(settings):
    # given an endpoint that answers 500 with a body far larger than the cap
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True
    settings.GATEWAY_CALLBACK_MAX_RESPONSE_BYTES = 1000
    body = b"x" * 2_000_000
    answer = b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    endpoint = Listener("127.0.0.1", answer=answer)
    call = finished_call(f"http://127.0.0.1:{endpoint.port}/hooks")

    # when
    try:
        delivery = callback_deliver(call_id=call.pk)
    finally:
        endpoint.close()

    # then the attempt failed with the start of the answer only
    assert delivery is not None and delivery.status_code == 500
    assert delivery.error.startswith("HTTP 500: xxx")
    assert len(delivery.error) < 1100


def test_an_endpoint_that_trickles_its_answer_is_cut_off_at_the_timeout(settings):
    # given an endpoint that sends one byte every 0.2 s, for ever
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True
    settings.GATEWAY_CALLBACK_TIMEOUT_S = 1.0
    endpoint = TricklingEndpoint()
    call = finished_call(f"http://127.0.0.1:{endpoint.port}/hooks")

    # when
    started = time.monotonic()
    try:
        delivery = callback_deliver(call_id=call.pk)
    finally:
        endpoint.close()

    # then the attempt ends soon after the timeout
    assert time.monotonic() - started < 3
    assert delivery is not None and not delivery.delivered
    assert delivery.error == "no full answer within GATEWAY_CALLBACK_TIMEOUT_S"


class TricklingEndpoint(Listener):
    def __init__(self) -> None:
        super().__init__("127.0.0.1", answer=b"")

    def _handle(self, connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not self._stop.wait(0.2):
            try:
                connection.sendall(b"x")
            except OSError:
                break


def test_a_callback_url_inside_is_refused_at_admission(api, caller, sandbox_only):
    for url in ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://[::1]/hook",
                "http://0x7f000001/hook", "http://169.254.169.254/latest/meta-data/"]:  # fmt: skip
        # when a background call names it
        response = api.post(
            LATEST,
            "{}",
            content_type="application/json",
            headers={**caller.headers, "Prefer": "respond-async", "X-Callback-URL": url},
        )

        # then it is refused at once, and nothing is stored
        assert response.status_code == 400, url
        assert response["Content-Type"] == "application/problem+json"
    assert not AsyncCall.objects.exists()
    assert not CallbackDelivery.objects.exists()
