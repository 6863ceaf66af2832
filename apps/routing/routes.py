"""The routing view of the catalog: immutable, cached per process, rebuilt on any change."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from apps.catalog.providers import ProviderAdapter, ProviderConfig
from apps.catalog.registry import MethodSpec


@dataclass(frozen=True)
class BreakerPolicy:
    """When an offering's circuit breaker opens, and for how long (tuned per provider)."""

    failures: int = 5  # consecutive provider faults that open it
    fault_rate: int = 50  # ...or this percentage of faults in the window
    window_s: int = 60
    min_calls: int = 20  # the rate counts only once the window holds this many calls
    cooldown_s: int = 30  # open this long, then one probe call is let through
    # Ops' override of this offering's breaker: "open" (drained), "closed", "" (automatic).
    forced: str = ""


@dataclass(frozen=True)
class OfferingRoute:
    offering_id: int
    provider: ProviderConfig
    adapter: type[ProviderAdapter]
    priority: int
    weight: int
    cost: Decimal
    country_costs: dict[str, Decimal] = field(default_factory=dict)
    # False when the provider's credentials cannot be decrypted with any configured key.
    credentials_readable: bool = True
    breaker: BreakerPolicy = BreakerPolicy()
    # The countries it serves when a call routes by country; None serves every country.
    countries: frozenset[str] | None = None

    def serves(self, country: str) -> bool:
        return self.countries is None or country in self.countries

    def cost_for(self, country: str) -> Decimal:
        return self.country_costs.get(country, self.cost)


@dataclass(frozen=True)
class RoutingPolicy:
    strategy: str = "priority"
    failover: bool = True
    max_attempts: int = 3
    deadline_ms: int = 10_000
    cache_ttl_s: int | None = None


@dataclass(frozen=True)
class MethodRoute:
    """A method as routing sees it: its contract, policy and the enabled offerings."""

    key: str
    spec: MethodSpec
    policy: RoutingPolicy
    # Only offerings that are enabled, of enabled providers.
    offerings: tuple[OfferingRoute, ...]
