"""Active health checks: each provider's cheap probe, its result fed to its breakers.

A Celery beat task runs `providers_health_check` on a schedule (GATEWAY_HEALTH_CHECK_INTERVAL_S);
ops run it for chosen providers from the admin ("Probe now").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

import httpx
from asgiref.sync import async_to_sync

from apps.catalog.models import Offering, Provider
from apps.catalog.providers import (
    OUTCOME_OK,
    OUTCOME_TIMEOUT,
    InvalidInput,
    ProviderConfig,
    ProviderFault,
)
from apps.catalog.registry import registry
from apps.catalog.secret_mask import provider_secrets_refresh
from apps.core import state
from apps.core.fields import UnreadableSecrets
from apps.routing import breakers
from apps.routing.attempts import failure_of
from apps.routing.breakers import BreakerView
from apps.routing.http import close_http_client
from apps.routing.routes import BreakerPolicy, OfferingRoute

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    provider: str
    outcome: str  # "ok", or the fault's outcome ("timeout", "http_error", ...)
    latency_ms: int
    error: str = ""

    @property
    def healthy(self) -> bool:
        return self.outcome == OUTCOME_OK


def providers_health_check(*, provider_ids: Iterable[int] | None = None) -> list[ProbeResult]:
    """Probe providers (every enabled one, or those given) and feed their breakers.

    Providers whose adapter declares no probe, or is missing from the code, are left out.
    """
    provider_secrets_refresh()  # a worker may run checks before it builds a snapshot
    providers = Provider.objects.prefetch_related("offerings").order_by("slug")
    if provider_ids is None:
        providers = providers.filter(enabled=True)
    else:
        providers = providers.filter(pk__in=list(provider_ids))
    targets = [
        (provider, [_route(provider, o) for o in provider.offerings.all()])
        for provider in providers
        if provider.adapter in registry.adapters
        and registry.adapters[provider.adapter].has_health_probe()
    ]
    # A loop of its own, always: under ASGI an admin view's async_to_sync would otherwise run
    # the checks on the server's loop, and closing their Redis client would close the one
    # every call in flight shares.
    return async_to_sync(_probe_all, force_new_loop=True)(targets)


async def _probe_all(targets: list[tuple[Provider, list[OfferingRoute]]]) -> list[ProbeResult]:
    try:
        async with httpx.AsyncClient(headers={"User-Agent": "service-gateway/1.0"}) as http:
            results = await asyncio.gather(
                *(_probe(provider, offerings, http) for provider, offerings in targets)
            )
        return list(results)
    finally:
        # This event loop (our own) ends here: close its Redis and HTTP connections with it.
        await state.close_async_client()
        await close_http_client()


async def _probe(
    provider: Provider, offerings: list[OfferingRoute], http: httpx.AsyncClient
) -> ProbeResult:
    adapter_class = registry.adapters[provider.adapter]
    credentials = provider.credentials
    config = ProviderConfig(
        slug=provider.slug,
        adapter=provider.adapter,
        base_url=provider.base_url,
        timeout_ms=provider.timeout_ms,
        credentials={} if isinstance(credentials, UnreadableSecrets) else dict(credentials),
    )
    started = time.monotonic()
    outcome, error = OUTCOME_OK, ""
    try:
        await asyncio.wait_for(
            adapter_class(config, http).probe(), timeout=provider.timeout_ms / 1000
        )
    except TimeoutError:
        outcome, error = OUTCOME_TIMEOUT, f"no answer within {provider.timeout_ms} ms"
    except (ProviderFault, InvalidInput) as exc:  # InvalidInput: the vendor misbehaves
        outcome, error = failure_of(exc, config.credentials)
    except Exception as exc:
        logger.exception("health probe of %s raised", provider.slug)
        outcome, error = failure_of(exc)
    latency_ms = int((time.monotonic() - started) * 1000)
    if outcome != OUTCOME_OK:
        logger.warning("health check of %s failed: %s %s", provider.slug, outcome, error)
    await breakers.record_health_check(
        offerings, outcome=outcome, latency_ms=latency_ms, error=error
    )
    return ProbeResult(provider.slug, outcome, latency_ms, error)


def _route(provider: Provider, offering: Offering) -> OfferingRoute:
    """Just enough of an offering for its breaker: its id, thresholds and forcing."""
    return OfferingRoute(
        offering_id=offering.pk,
        provider=ProviderConfig(provider.slug, provider.adapter, provider.base_url, 0),
        adapter=registry.adapters[provider.adapter],
        priority=0,
        weight=0,
        cost=Decimal(0),
        breaker=offering_breaker_policy(offering, provider),
    )


def provider_breaker_policy(provider: Provider) -> BreakerPolicy:
    return BreakerPolicy(
        failures=provider.breaker_failures,
        fault_rate=provider.breaker_fault_rate,
        window_s=provider.breaker_window_s,
        min_calls=provider.breaker_min_calls,
        cooldown_s=provider.breaker_cooldown_s,
    )


def offering_breaker_policy(offering: Offering, provider: Provider | None = None) -> BreakerPolicy:
    """The provider's thresholds with the offering's forcing (pass its provider if loaded)."""
    policy = provider_breaker_policy(provider or offering.provider)
    return replace(policy, forced=offering.breaker_forced)


def offering_breakers(offerings: list[Offering]) -> dict[int, BreakerView]:
    """The breakers of these offerings (their providers loaded), in one round trip."""
    return breakers.breaker_views((o.pk, offering_breaker_policy(o)) for o in offerings)


def provider_breakers(providers: list[Provider]) -> dict[int, list[tuple[Offering, BreakerView]]]:
    """Each provider's offerings with their breakers: one query, one round trip."""
    by_pk = {p.pk: p for p in providers}
    offerings = list(
        Offering.objects.filter(provider__in=providers).select_related("method__service")
    )
    for offering in offerings:
        offering.provider = by_pk[offering.provider_id]
    views = offering_breakers(offerings)
    grouped: dict[int, list[tuple[Offering, BreakerView]]] = defaultdict(list)
    for offering in offerings:
        grouped[offering.provider_id].append((offering, views[offering.pk]))
    return grouped
