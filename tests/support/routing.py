"""The routing tests' small catalog: offline providers, policies and offerings set up as ops
would, offerings as routing sees them, and a call posted as a client sends it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from apps.catalog.models import Offering, Provider, RoutingPolicy
from apps.catalog.providers import ProviderConfig
from apps.catalog.registry import registry
from apps.routing.routes import BreakerPolicy, OfferingRoute
from tests import factories
from tests.support.calls import FIXER_URL as FIXER_URL  # the fixer of the routing tests too

OXR_URL = "https://oxr.test/api"
LATEST = "/api/v1/services/currency/latest_rates/"
CONVERT = "/api/v1/services/currency/convert/"


def sandbox_catalog(
    costs: dict[str, dict[str, str]], **provider_fields: Any
) -> dict[str, Provider]:
    """Offline providers (the sandbox adapter under other slugs), the only ones enabled.

    `costs` maps slug -> {method key or "priority"/"weight": value}, e.g.
    {"alpha": {"currency.latest_rates": "0.0010", "priority": 1}}.
    """
    Provider.objects.update(enabled=False)
    providers = {}
    for slug, spec in costs.items():
        provider = factories.ProviderFactory.create(slug=slug, **provider_fields)
        providers[slug] = provider
        for key in ("currency.latest_rates", "currency.convert"):
            factories.OfferingFactory(
                provider=provider,
                method=factories.method(key),
                priority=spec.get("priority", 10),
                weight=spec.get("weight", 1),
                cost=Decimal(spec.get(key, "0.0010")),
            )
    return providers


def set_policy(method: str, **fields: Any) -> None:
    policy = RoutingPolicy.objects.get(method__slug=method)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()


def offering_of(provider: str, method: str = "latest_rates") -> Offering:
    return Offering.objects.get(provider__slug=provider, method__slug=method)


def post(
    api: Any,
    caller: Any,
    path: str = LATEST,
    payload: dict | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """A call to `path` as `caller` (base USD unless `payload` says otherwise)."""
    return api.post(
        path,
        json.dumps(payload if payload is not None else {"base": "USD"}),
        content_type="application/json",
        headers={**caller.headers, **(headers or {})},
    )


def route_of(
    slug: str,
    *,
    offering_id: int,
    priority: int = 10,
    weight: int = 1,
    cost: str = "0.0010",
    country_costs: dict[str, str] | None = None,
    adapter: str = "currency.sandbox",
    base_url: str = "sandbox://rates",
    timeout_ms: int = 1000,
    credentials: dict[str, str] | None = None,
    breaker: BreakerPolicy | None = None,
) -> OfferingRoute:
    """An offering as routing sees it, without the database."""
    return OfferingRoute(
        offering_id=offering_id,
        provider=ProviderConfig(slug, adapter, base_url, timeout_ms, credentials or {}),
        adapter=registry.adapters[adapter],
        priority=priority,
        weight=weight,
        cost=Decimal(cost),
        country_costs={k: Decimal(v) for k, v in (country_costs or {}).items()},
        breaker=breaker or BreakerPolicy(),
    )


def configure(slug: str, **fields: Any) -> Provider:
    """Provider `slug` with these fields, enabled."""
    provider = Provider.objects.get(slug=slug)
    for name, value in fields.items():
        setattr(provider, name, value)
    provider.enabled = True
    provider.save()
    return provider
