"""Everything a call reads that ops tune, loaded once per catalog version per process.

A call costs one Redis round trip to learn the current version (MGET with the principals
version, and the breakers of the method's offerings as the last snapshot names them:
apps.routing.breaker_peek); the snapshot itself is rebuilt from the database only after a
change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async

from apps.billing.pricebook import PriceBook, build_price_book
from apps.catalog.countries import served_countries
from apps.catalog.models import Method, Offering, OfferingCountryCost
from apps.catalog.providers import ProviderAdapter, ProviderConfig
from apps.catalog.registry import registry
from apps.catalog.secret_mask import provider_secrets_refresh
from apps.catalog.services import CATALOG_VERSION
from apps.core import state
from apps.core.db import then_release_connection
from apps.core.fields import UnreadableSecrets
from apps.routing.routes import BreakerPolicy, MethodRoute, OfferingRoute, RoutingPolicy


@dataclass(frozen=True)
class Snapshot:
    version: int
    methods: dict[str, MethodRoute]
    pricing: PriceBook  # prices, free calls, rate limits (apps.billing.pricebook)


def build_snapshot(version: int) -> Snapshot:
    provider_secrets_refresh()  # the log filter masks what the catalog now holds
    offerings_by_method = _offering_routes()
    methods: dict[str, MethodRoute] = {}
    for method in Method.objects.filter(enabled=True, service__enabled=True).select_related(
        "service", "routing"
    ):
        spec = registry.method(method.key)
        if spec is None:
            continue
        policy_row = getattr(method, "routing", None)
        policy = (
            RoutingPolicy(
                strategy=policy_row.strategy,
                failover=policy_row.failover,
                max_attempts=policy_row.max_attempts,
                deadline_ms=policy_row.deadline_ms,
                cache_ttl_s=policy_row.cache_ttl_s,
            )
            if policy_row
            else RoutingPolicy()
        )
        methods[method.key] = MethodRoute(
            key=method.key,
            spec=spec,
            policy=policy,
            offerings=tuple(offerings_by_method.get(method.pk, ())),
        )
    return Snapshot(version=version, methods=methods, pricing=build_price_book())


def _offering_routes() -> dict[int, list[OfferingRoute]]:
    """The enabled offerings of enabled providers whose adapter is in the code, by method id."""
    country_costs: dict[int, dict[str, Decimal]] = {}
    for row in OfferingCountryCost.objects.values_list("offering_id", "country", "cost"):
        country_costs.setdefault(row[0], {})[row[1]] = row[2]
    offerings_by_method: dict[int, list[OfferingRoute]] = {}
    offerings = Offering.objects.filter(enabled=True, provider__enabled=True).select_related(
        "provider"
    )
    for offering in offerings:
        adapter = registry.adapters.get(offering.provider.adapter)
        if adapter is None:
            continue  # an adapter removed from code; the admin flags it
        route = _offering_route(offering, adapter, country_costs.get(offering.pk, {}))
        offerings_by_method.setdefault(offering.method_id, []).append(route)
    return offerings_by_method


def _offering_route(
    offering: Offering, adapter: type[ProviderAdapter], country_costs: dict[str, Decimal]
) -> OfferingRoute:
    provider = offering.provider
    credentials = provider.credentials
    return OfferingRoute(
        offering_id=offering.pk,
        provider=ProviderConfig(
            slug=provider.slug,
            adapter=provider.adapter,
            base_url=provider.base_url,
            timeout_ms=provider.timeout_ms,
            credentials=dict(credentials),
        ),
        adapter=adapter,
        priority=offering.priority,
        weight=offering.weight,
        cost=offering.cost,
        country_costs=country_costs,
        credentials_readable=not isinstance(credentials, UnreadableSecrets),
        countries=served_countries(provider.countries, adapter.countries),
        breaker=BreakerPolicy(
            failures=provider.breaker_failures,
            fault_rate=provider.breaker_fault_rate,
            window_s=provider.breaker_window_s,
            min_calls=provider.breaker_min_calls,
            cooldown_s=provider.breaker_cooldown_s,
            forced=offering.breaker_forced,
        ),
    )


_lock = threading.Lock()
_current: Snapshot | None = None


def _snapshot_for(version: int) -> Snapshot:
    global _current
    with _lock:
        if _current is None or _current.version != version:
            _current = build_snapshot(version)
        return _current


async def current_snapshot(version: int | None = None) -> Snapshot:
    """The snapshot for `version` (read from shared state when not given)."""
    if version is None:
        (version,) = await state.read_versions(CATALOG_VERSION)
    snapshot = _current
    if snapshot is not None and snapshot.version == version:
        return snapshot
    return await sync_to_async(then_release_connection(_snapshot_for))(version)


def last_snapshot() -> Snapshot | None:
    """This process's snapshot as it stands, with no read of the version (it may be stale)."""
    return _current


def current_snapshot_sync() -> Snapshot:
    (version,) = state.read_versions_sync(CATALOG_VERSION)
    return _snapshot_for(version)


def forget_snapshot() -> None:
    """Drop this process's snapshot (tests, and after a bulk change without signals)."""
    global _current
    with _lock:
        _current = None
