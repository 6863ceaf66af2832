"""Fake vendors several areas' tests share (their fixtures are registered by
tests/conftest.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.catalog.models import Offering, Provider
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.servers import Listener

FIXER_SECRET = "fixer-secret-access-key-42"
FAULT = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class HeldFixer(BaseHTTPRequestHandler):
    """fixer's /latest that answers only when the test lets it."""

    arrived: threading.Event
    release: threading.Event
    requests: list[str]
    url: str

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.arrived.set()
        self.release.wait(timeout=30)
        body = json.dumps(FIXER_LATEST).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def held_fixer() -> Iterator[type[HeldFixer]]:
    """fixer's /latest on loopback, answering only once the test sets `.release`; `.arrived`
    is set when a request reaches it, `.url` is its base URL."""
    handler: type[HeldFixer] = type(
        "Held",
        (HeldFixer,),
        {"arrived": threading.Event(), "release": threading.Event(), "requests": []},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield handler
    handler.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def failing_fixer_then_sandbox(transactional_db: None) -> Iterator[Listener]:
    """fixer first, at a listener answering 500 (its key FIXER_SECRET); the offline sandbox
    second."""
    vendor = Listener(answer=FAULT)
    Provider.objects.update(enabled=False)
    fixer = Provider.objects.get(slug="fixer")
    fixer.base_url, fixer.credentials, fixer.enabled = (
        f"http://127.0.0.1:{vendor.port}/api",
        {"access_key": FIXER_SECRET},
        True,
    )
    fixer.save()
    Provider.objects.filter(slug="sandbox").update(enabled=True)
    Offering.objects.filter(provider__slug="fixer").update(priority=1)
    Offering.objects.filter(provider__slug="sandbox").update(priority=2)
    yield vendor
    vendor.close()
