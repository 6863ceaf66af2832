"""Shared fixtures. Tests use the real PostgreSQL and Redis (see settings_test)."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import respx
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings

from apps.accounts import authentication
from apps.catalog.models import Offering, Provider
from apps.core import asyncdb, state
from apps.core.db import database_unavailable_forget
from apps.gateway.snapshot import forget_snapshot
from apps.routing import http
from tests import factories
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.asgi import GatewayClient
from tests.support.calls import FIXER_URL, Caller
from tests.support.module_fixtures import module_fixture_or
from tests.support.servers import free_port, wait_until_serving

# respx fakes vendors at httpx's client (its "httpx" mocker), not at httpcore: the gateway's
# requests travel over aiohttp (apps.routing.transport), which httpcore's mocker never sees.
respx.mocks.DEFAULT_MOCKER = respx.mocks.HTTPXMocker.name

# Fixtures more than one test area uses, kept beside their helpers in tests/support.
pytest_plugins = ["tests.support.celery", "tests.support.mq", "tests.support.vendors"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    yield
    # Close pooled connections, or PostgreSQL refuses to drop the test database.
    with django_db_blocker.unblock():
        for connection in connections.all():
            close_pool = getattr(connection, "close_pool", None)
            if close_pool:
                close_pool()
        asyncdb.close_all_pools()


@pytest.fixture(autouse=True)
def direct_db_only_when_committed(request: pytest.FixtureRequest) -> Iterator[None]:
    """Calls hold and settle over apps.core.asyncdb's own connections only in tests whose
    rows are committed (django_db(transaction=True)): inside the test's transaction on
    Django's connection, another connection would not see the test's client or plan."""
    marker = request.node.get_closest_marker("django_db")
    committed = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    with override_settings(GATEWAY_DB_ASYNC=committed):
        yield


@pytest.fixture(autouse=True)
def fresh_shared_state() -> Iterator[None]:
    """Each test starts with empty Redis state and no cached snapshot or principals."""
    state.sync_client().flushdb()
    state.forget_local_state()
    database_unavailable_forget()
    forget_snapshot()
    authentication._cache.sync_version(-1)
    yield
    forget_snapshot()
    # The test's event loops have closed: drop their HTTP clients (apps.routing.http) and
    # close their database connections (apps.core.asyncdb).
    http._forget_closed_loops()
    asyncdb.forget_closed_loops()


@pytest.fixture
def api() -> GatewayClient:
    """Django's test client, whose calls (/api/v1/services/{service}/{method}/) go through
    the production ASGI application (tests/support/asgi.py), used from SYNC tests.

    Each call runs through async_to_sync, so the pipeline's thread-sensitive ORM work runs
    on the test's own thread and connection and sees the test's uncommitted rows, and
    django_assert_num_queries counts its queries. (An async test's ORM work runs in another
    thread with another connection: such tests need django_db(transaction=True).)
    """
    return GatewayClient()


@pytest.fixture
def caller(db: None) -> Caller:
    """acme (DE) on the plan "standard", which prices every currency method, and its key."""
    plan = factories.PlanFactory(slug="standard")
    for key in ("currency.latest_rates", "currency.convert"):
        factories.PriceFactory(plan=plan, method=factories.method(key), price=Decimal("0.0100"))
    client = factories.ClientFactory.create(slug="acme", plan=plan, country="DE")
    return Caller(client, factories.api_key_for(client))


@pytest.fixture
def sandbox_only(db: None) -> Provider:
    """Only the offline sandbox provider is enabled."""
    Provider.objects.update(enabled=False)
    provider = Provider.objects.get(slug="sandbox")
    provider.enabled = True
    provider.save()
    Offering.objects.filter(provider=provider).update(priority=1, cost=Decimal("0.0010"))
    return provider


@pytest.fixture
def fixer_only(db: None) -> Provider:
    """Only fixer is enabled, at FIXER_URL (fake its answers with the `fixer` fixture)."""
    Provider.objects.update(enabled=False)
    provider = Provider.objects.get(slug="fixer")
    provider.base_url = FIXER_URL
    provider.credentials = {"access_key": "test-key"}
    provider.enabled = True
    provider.save()
    Offering.objects.filter(provider=provider).update(priority=1, cost=Decimal("0.0010"))
    return provider


@pytest.fixture
def fixer(fixer_only: Provider) -> Iterator[respx.Route]:
    """fixer's GET /latest answering in its documented format; `.call_count` counts the
    calls that reached the provider."""
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        yield router.get(f"{FIXER_URL}/latest").respond(json=FIXER_LATEST)


@pytest.fixture
def egress_private(settings: Any) -> None:
    """Let the gateway connect to loopback (GATEWAY_EGRESS_ALLOW_PRIVATE), for tests whose
    fake vendor or callback endpoint listens on 127.0.0.1; all other tests keep the egress
    policy as production has it (apps.core.egress)."""
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True


@pytest.fixture
def live_gateway(
    transactional_db: None, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The real ASGI application served by uvicorn (two worker processes), on this test's
    database and Redis; yields its base URL, e.g. "http://127.0.0.1:41234".

    A test module gives the server extra environment with a `live_gateway_env` fixture of
    its own (a dict; see tests.support.module_fixtures).

    For tests that need real concurrency: what the test commits (the fixture implies
    django_db(transaction=True)) the server sees, and what the server writes the test reads.
    Each server process keeps its own caches, dropped as usual when a version moves.
    """
    port = free_port()
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "10",
        # As this test has it (the egress_private fixture, for a vendor faked on loopback).
        "GATEWAY_EGRESS_ALLOW_PRIVATE": str(settings.GATEWAY_EGRESS_ALLOW_PRIVATE).lower(),
        **module_fixture_or(request, "live_gateway_env", {}),
    }
    log = tmp_path / "uvicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "gateway_project.asgi:application",
                "--host=127.0.0.1",
                f"--port={port}",
                "--workers=2",
                "--lifespan=off",
                "--log-level=warning",
                "--timeout-graceful-shutdown=5",
            ],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: its workers stop with it
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base_url, server, log, deadline=time.monotonic() + 30)
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        print(log.read_text())  # shown with a failing test's report
