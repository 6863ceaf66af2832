"""A call gives its database connection back to the pool while it waits for a provider, so a
slow provider does not cap a process's calls in flight at the size of its pool."""

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from apps.catalog.models import Provider
from tests.integrations.currency.vendor_answers import FIXER_LATEST

LATEST = "/api/v1/services/currency/latest_rates/"
CALLS = 8

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here. Each test
# runs once per live_gateway_env below (pytest parametrizes only the fixtures a test uses).
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("egress_private", "live_gateway_env"),
]


@pytest.fixture(params=["direct", "django"])
def live_gateway_env(request: pytest.FixtureRequest) -> dict[str, str]:
    # Two connections per process, two processes: four in all, for eight calls at once;
    # the hold and settle over apps.core.asyncdb's pool, or through Django's.
    return {
        "DB_ASYNC": "true" if request.param == "direct" else "false",
        "DB_ASYNC_POOL_SIZE": "2",
        "DB_ASYNC_POOL_TIMEOUT_S": "30",
        "DB_POOL_MAX_SIZE": "2",
        "DB_POOL_TIMEOUT_S": "30",
    }


@pytest.fixture
def fixer_answering_together() -> Iterator[str]:
    """fixer's /latest that answers only once CALLS requests are waiting in it at once."""
    everyone = threading.Barrier(CALLS, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                everyone.wait()
            except threading.BrokenBarrierError:
                self.send_response(503)
                self.end_headers()
                return
            body = json.dumps(FIXER_LATEST).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    everyone.abort()
    server.shutdown()
    server.server_close()


def test_calls_waiting_on_a_provider_hold_no_database_connection(
    live_gateway, caller, fixer_answering_together
):
    # given fixer, which answers only when all eight calls are inside it together
    Provider.objects.update(enabled=False)
    fixer = Provider.objects.get(slug="fixer")
    fixer.base_url, fixer.credentials, fixer.enabled = (
        fixer_answering_together,
        {"access_key": "k"},
        True,
    )
    fixer.timeout_ms = 60_000
    fixer.save()

    # when eight calls arrive at once at processes with four connections between them
    async def all_at_once() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live_gateway, timeout=60) as http:
            return await asyncio.gather(
                *(
                    http.post(LATEST, json={"base": "EUR"}, headers=caller.headers)
                    for _ in range(CALLS)
                )
            )

    responses = asyncio.run(all_at_once())

    # then all eight reached fixer together, and were served
    assert Counter(r.status_code for r in responses) == {200: CALLS}
