"""The database as a document: the entries a file would need to change nothing.

Built from the rows directly (not by parsing a dump), so rows the code no longer knows (a
provider whose adapter was removed) are still compared. Credentials are left out (None):
diff compares them apart, and never shows them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.accounts.models import Client
from apps.billing.models import Plan
from apps.catalog.models import Offering, Provider, RoutingPolicy
from apps.declarative.document import (
    BREAKER_KEYS,
    ClientEntry,
    ConfigDocument,
    OfferingEntry,
    PlanEntry,
    ProviderEntry,
    RoutingEntry,
)

# Where an entry is in a file: nowhere, for these.
_NOWHERE: dict[str, Any] = {"line": 0, "key_lines": {}, "path": ""}


def stored_document() -> ConfigDocument:
    return ConfigDocument(
        source="the database",
        providers=tuple(_provider(p) for p in Provider.objects.all()),
        offerings=tuple(
            _offering(o)
            for o in Offering.objects.select_related(
                "provider", "method__service"
            ).prefetch_related("country_costs")
        ),
        routing=tuple(_routing(r) for r in RoutingPolicy.objects.select_related("method__service")),
        plans=tuple(
            _plan(p)
            for p in Plan.objects.prefetch_related(
                "prices__method__service", "prices__country_prices", "rate_limits"
            )
        ),
        clients=tuple(_client(c) for c in Client.objects.select_related("plan")),
    )


def _provider(provider: Provider) -> ProviderEntry:
    return ProviderEntry(
        **_NOWHERE,
        slug=provider.slug,
        adapter=provider.adapter,
        base_url=provider.base_url,
        timeout_ms=provider.timeout_ms,
        enabled=provider.enabled,
        name=provider.name,
        credentials=None,
        breaker={name: getattr(provider, name) for name in BREAKER_KEYS.values()},
        countries=tuple(provider.countries or ()),
    )


def _offering(offering: Offering) -> OfferingEntry:
    return OfferingEntry(
        **_NOWHERE,
        provider=offering.provider.slug,
        method=offering.method.key,
        enabled=offering.enabled,
        priority=offering.priority,
        weight=offering.weight,
        cost=offering.cost,
        cost_by_country={c.country: c.cost for c in offering.country_costs.all()},
    )


def _routing(policy: RoutingPolicy) -> RoutingEntry:
    return RoutingEntry(
        **_NOWHERE,
        method=policy.method.key,
        strategy=policy.strategy,
        failover=policy.failover,
        max_attempts=policy.max_attempts,
        deadline_ms=policy.deadline_ms,
        cache_ttl_s=policy.cache_ttl_s,
    )


def _plan(plan: Plan) -> PlanEntry:
    prices = list(plan.prices.all())
    by_country: dict[str, dict[str, Decimal]] = {}
    for price in prices:
        for country_price in price.country_prices.all():
            by_country.setdefault(country_price.country, {})[price.method.key] = country_price.price
    return PlanEntry(
        **_NOWHERE,
        slug=plan.slug,
        name=plan.name,
        charge_failed_calls=plan.charge_failed_calls,
        prices={p.method.key: p.price for p in prices},
        free_calls={p.method.key: p.free_calls for p in prices if p.free_calls},
        prices_by_country=by_country,
        rate_limits={r.scope: (r.limit, r.window) for r in plan.rate_limits.all()},
    )


def _client(client: Client) -> ClientEntry:
    return ClientEntry(
        **_NOWHERE,
        slug=client.slug,
        name=client.name,
        country=client.country,
        plan=client.plan.slug,
        credit_limit=client.credit_limit,
        active=client.is_active,
    )
