"""Issue #12: a provider's credential never reaches a client, a stored row or a log line.

fixer takes its key in the query string (`?access_key=`), so every library error that names
the request URL carries it. Here fixer is a real listener on this machine misbehaving in
each way a vendor can (refusing, hanging, answering something that is not HTTP, garbage, a
5xx, an error that echoes the key); after a failed call and a health check, every text the
gateway returned, stored or logged is searched for the key.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.forms.models import model_to_dict
from django.test import Client as HttpClient
from django.urls import reverse

from apps.catalog.models import Offering, Provider
from apps.catalog.secret_mask import provider_secrets_refresh
from apps.catalog.services import provider_set_credentials
from apps.ledger.models import LedgerEntry
from apps.routing import breakers
from apps.routing.health import offering_breaker_policy, providers_health_check
from tests.factories import staff_user

ACCESS_KEY = "fx-5ecret-4cce55-key-0042"
LATEST = "/api/v1/services/currency/latest_rates/"

# What the listener does with each connection, once it has read the request head.
Answer = Callable[[socket.socket, bytes], None]


def _http(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
    return (
        head.encode() + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    )


def not_http(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6 " + request.split(b"\r\n")[0] + b"\r\n\r\n")


def garbage_json(conn: socket.socket, request: bytes) -> None:
    conn.sendall(_http("200 OK", b"{not json " + request.split(b"\r\n")[0]))


def wrong_shape(conn: socket.socket, request: bytes) -> None:
    conn.sendall(_http("200 OK", json.dumps({"success": True, "echo": request.decode()}).encode()))


def server_error(conn: socket.socket, request: bytes) -> None:
    conn.sendall(_http("503 Service Unavailable", request, "text/plain"))


def echoed_key_error(conn: socket.socket, request: bytes) -> None:
    info = f"You supplied an invalid access key: {ACCESS_KEY}"
    error = {"success": False, "error": {"code": 101, "type": "invalid_access_key", "info": info}}
    conn.sendall(_http("200 OK", json.dumps(error).encode()))


def never_answer(conn: socket.socket, request: bytes) -> None:
    threading.Event().wait(2)  # longer than the provider's timeout


def _listen(answer: Answer) -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(3)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            with contextlib.suppress(OSError):  # the gateway hung up first (a timeout)
                answer(conn, request)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/api"
    stop.set()
    thread.join()
    server.close()


def _refused() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"http://127.0.0.1:{port}/api"


MODES: dict[str, Callable[[], Iterator[str]]] = {
    "connection refused": _refused,
    "timeout": lambda: _listen(never_answer),
    "not HTTP": lambda: _listen(not_http),
    "garbage body": lambda: _listen(garbage_json),
    "wrong shape": lambda: _listen(wrong_shape),
    "5xx echoing the request": lambda: _listen(server_error),
    "vendor error echoing the key": lambda: _listen(echoed_key_error),
}


@pytest.fixture(params=list(MODES))
def fixer_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from MODES[request.param]()


@pytest.fixture
def failing_fixer(fixer_only: Provider, fixer_url: str, settings: Any) -> Provider:
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True  # the fake vendor listens on loopback
    fixer_only.base_url = fixer_url
    fixer_only.credentials = {"access_key": ACCESS_KEY}
    fixer_only.timeout_ms = 300
    fixer_only.save()
    return fixer_only


def _leaks(texts: dict[str, str]) -> list[str]:
    """The places whose text holds the key."""
    return [where for where, text in texts.items() if ACCESS_KEY in text]


def test_no_credential_in_any_answer_row_or_log_line(
    failing_fixer: Provider, caller: Any, api: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    caplog.set_level(logging.DEBUG)

    # when a call fails at fixer, and fixer's health check fails the same way
    response = api.post(LATEST, {"base": "EUR"}, content_type="application/json", **_auth(caller))
    providers_health_check(provider_ids=[failing_fixer.pk])

    # then the client got a 502 whose attempts say only who, how and how long
    assert response.status_code == 502
    body = response.json()
    assert [set(a) for a in body["attempts"]] == [{"provider", "outcome", "latency_ms"}]
    texts = {"response": response.content.decode()}
    # and nothing stored, shown to finance or ops, or logged holds the key
    entry = LedgerEntry.objects.get(request_id=body["request_id"])
    assert entry.attempts[0]["error"]  # ops still learn why
    texts["ledger row"] = json.dumps(model_to_dict(entry), default=str)
    texts["provider row"] = json.dumps(
        model_to_dict(Provider.objects.get(pk=failing_fixer.pk), exclude=["credentials"]),
        default=str,
    )
    texts["breakers"] = json.dumps([vars(view) for view in _breaker_views(failing_fixer)])
    finance = HttpClient()
    finance.force_login(staff_user("fiona", "finance"))
    texts["finance api"] = finance.get("/api/v1/ledger/").content.decode()
    texts["csv export"] = _csv_text(finance.get("/api/v1/ledger/export.csv"))
    admin = HttpClient()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    change = reverse("admin:ledger_ledgerentry_change", args=[entry.pk])
    texts["admin ledger row"] = admin.get(change).content.decode()
    provider_change = reverse("admin:catalog_provider_change", args=[failing_fixer.pk])
    texts["admin provider"] = admin.get(provider_change).content.decode()
    texts["log"] = caplog.text
    for number, record in enumerate(caplog.records):
        texts[f"log record {number}"] = f"{record.getMessage()} {record.exc_text or ''}"
    assert _leaks(texts) == []


def test_the_log_filter_masks_credentials_in_messages_args_and_tracebacks(
    fixer_only: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    # given a provider's key, known to this process (the snapshot loads it on the call path)
    provider_set_credentials(provider=fixer_only, credentials={"access_key": ACCESS_KEY})
    provider_secrets_refresh()
    logger = logging.getLogger("apps.somewhere")

    # when code logs the key in every way a record can hold it
    with caplog.at_level(logging.DEBUG):
        logger.info(f"GET /latest?access_key={ACCESS_KEY}")
        logger.warning("asked %s", f"https://x.test/?access_key={ACCESS_KEY}")
        try:
            raise RuntimeError(f"url='https://x.test/?access_key={ACCESS_KEY}'")
        except RuntimeError:
            logger.exception("it failed")

    # then no record holds it, and the rest of the text is kept
    assert ACCESS_KEY not in caplog.text
    assert "access_key=[redacted]" in caplog.text
    assert "RuntimeError" in caplog.text


def _auth(caller: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": caller.headers["Authorization"]}


def _breaker_views(provider: Provider) -> list[breakers.BreakerView]:
    offerings = Offering.objects.filter(provider=provider).select_related("provider")
    views = breakers.breaker_views((o.pk, offering_breaker_policy(o)) for o in offerings)
    return list(views.values())


def _csv_text(response: Any) -> str:
    text = b"".join(response.streaming_content).decode()
    return "\n".join(",".join(row) for row in csv.reader(io.StringIO(text)))
