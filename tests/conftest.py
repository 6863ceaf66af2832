"""Shared fixtures. Tests use the real PostgreSQL and Redis (see settings_test)."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from apps.accounts import authentication
from apps.catalog.models import Offering, Provider
from apps.core import state
from apps.gateway.snapshot import forget_snapshot
from tests import factories


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    yield
    # Close pooled connections, or PostgreSQL refuses to drop the test database.
    with django_db_blocker.unblock():
        for connection in connections.all():
            close_pool = getattr(connection, "close_pool", None)
            if close_pool:
                close_pool()


@pytest.fixture(autouse=True)
def fresh_shared_state() -> Iterator[None]:
    """Each test starts with empty Redis state and no cached snapshot or principals."""
    state.sync_client().flushdb()
    state._memory.clear()
    forget_snapshot()
    authentication._cache.sync_version(-1)
    yield
    forget_snapshot()


@pytest.fixture
def api() -> Client:
    """Django's test client, used from SYNC tests even for the async call view.

    It runs the async view through async_to_sync, so the view's thread-sensitive ORM work
    runs on the test's own thread and connection and sees the test's uncommitted rows, and
    django_assert_num_queries counts its queries. (An async test's ORM work runs in another
    thread with another connection: such tests need django_db(transaction=True).)
    """
    return Client()


class Caller:
    """A client with a plan, prices for every method and an API key."""

    def __init__(self, client: Any, key: str) -> None:
        self.client = client
        self.key = key
        self.headers = {"Authorization": f"Api-Key {key}"}


@pytest.fixture
def caller(db: None) -> Caller:
    plan = factories.PlanFactory(slug="standard")
    for key in ("currency.latest_rates", "currency.convert"):
        factories.PriceFactory(plan=plan, method=factories.method(key), price=Decimal("0.0100"))
    client = factories.ClientFactory(slug="acme", plan=plan, country="DE")
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
