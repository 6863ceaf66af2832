"""A paying client with its API key, providers set up as ops would, and a call posted as a
client sends it (Django's test client)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jwt

from apps.accounts.models import Client
from apps.catalog.models import Offering, Provider
from apps.catalog.services import catalog_cache_invalidate
from tests import factories

LATEST = "/api/v1/services/currency/latest_rates/"
# Where the fixer of `fixer_only` (tests/conftest.py) and of the routing tests is, faked.
FIXER_URL = "https://fixer.test/api"


@dataclass
class Caller:
    """A client and its API key; `headers` authenticate a call as it."""

    client: Client
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.key}"}


def paying_client(*prices: tuple[str, str]) -> Caller:
    """acme (DE) on a plan with these prices, e.g. ("email.send", "0.0100")."""
    plan = factories.PlanFactory(slug="messaging")
    for method_key, price in prices:
        factories.PriceFactory(plan=plan, method=factories.method(method_key), price=Decimal(price))
    client = factories.ClientFactory.create(slug="acme", plan=plan, country="DE")
    return Caller(client, factories.api_key_for(client))


def only_providers(*slugs: str) -> None:
    Provider.objects.exclude(slug__in=slugs).update(enabled=False)
    catalog_cache_invalidate()


def configure(
    slug: str,
    *,
    base_url: str,
    credentials: dict[str, str],
    priority: int = 1,
    cost: str = "0.0010",
    timeout_ms: int = 1000,
) -> Provider:
    """Provider `slug` enabled at `base_url` with `credentials`, its offerings at `priority`."""
    provider = Provider.objects.get(slug=slug)
    provider.base_url, provider.credentials = base_url, credentials
    provider.enabled, provider.timeout_ms = True, timeout_ms
    provider.save()
    Offering.objects.filter(provider=provider).update(priority=priority, cost=Decimal(cost))
    catalog_cache_invalidate()
    return provider


def post(api: Any, url: str, body: Any, caller: Caller) -> Any:
    return api.post(url, json.dumps(body), content_type="application/json", headers=caller.headers)


def jwt_for(entity_id: str, settings: Any, **claims: Any) -> str:
    """A token an internal service signs for end customer `entity_id`, valid for a minute."""
    payload = {"entity_id": entity_id, "exp": int(time.time()) + 60, **claims}
    return jwt.encode(payload, settings.INTERNAL_GATEWAY_KEY, algorithm="HS256")
