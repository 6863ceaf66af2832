"""What calls cost and how often a client may make them, as the call path reads it.

Built once per catalog version per process (it is part of the gateway's snapshot): a call
looks its price and limits up in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from apps.billing.models import (
    TOTAL_SCOPE,
    WINDOW_SECONDS,
    ClientPrice,
    ClientRateLimit,
    CountryPrice,
    Plan,
    PlanRateLimit,
    Price,
)


@dataclass(frozen=True)
class Limit:
    """At most `limit` calls per `window_s` seconds over the calls in `scope`."""

    scope: str
    limit: int
    window: str

    @property
    def window_s(self) -> int:
        return WINDOW_SECONDS[self.window]

    def __str__(self) -> str:
        return f"{self.limit}/{self.window}"


@dataclass(frozen=True)
class PriceBook:
    # (plan id, "service.method") -> price: the plan includes exactly these methods.
    prices: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    # (plan id, "service.method", country) -> price for requesters in that country.
    country_prices: dict[tuple[int, str, str], Decimal] = field(default_factory=dict)
    # (client id, "service.method") -> a negotiated price, whatever the plan or country.
    client_prices: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    # (plan id, "service.method") -> free calls per client per calendar month.
    free_calls: dict[tuple[int, str], int] = field(default_factory=dict)
    plan_limits: dict[int, dict[str, Limit]] = field(default_factory=dict)
    client_limits: dict[int, dict[str, Limit]] = field(default_factory=dict)
    charge_failed_calls: dict[int, bool] = field(default_factory=dict)

    def price(self, *, plan_id: int, client_id: int, method: str, country: str) -> Decimal | None:
        """What one call costs this client; None if neither its plan nor a deal prices it."""
        negotiated = self.client_prices.get((client_id, method))
        if negotiated is not None:
            return negotiated
        if (plan_id, method) not in self.prices:
            return None
        by_country = self.country_prices.get((plan_id, method, country))
        return by_country if by_country is not None else self.prices[(plan_id, method)]

    def free_allowance(self, *, plan_id: int, method: str) -> int:
        return self.free_calls.get((plan_id, method), 0)

    def limits(self, *, plan_id: int, client_id: int, method: str) -> tuple[Limit, ...]:
        """The limits a call of `method` counts against: total, its service, the method.

        A client's override replaces the plan's limit of the same scope.
        """
        plan, own = self.plan_limits.get(plan_id), self.client_limits.get(client_id)
        if not plan and not own:
            return ()
        merged = {**(plan or {}), **(own or {})}
        service = method.partition(".")[0]
        return tuple(merged[s] for s in (TOTAL_SCOPE, service, method) if s in merged)


def build_price_book() -> PriceBook:
    """Six queries, whatever the number of plans, clients and prices."""
    book = PriceBook(
        charge_failed_calls=dict(Plan.objects.values_list("id", "charge_failed_calls"))
    )
    for plan_id, service, method, price, free in Price.objects.values_list(
        "plan_id", "method__service__slug", "method__slug", "price", "free_calls"
    ):
        book.prices[(plan_id, f"{service}.{method}")] = price
        if free:
            book.free_calls[(plan_id, f"{service}.{method}")] = free
    for plan_id, service, method, country, price in CountryPrice.objects.values_list(
        "base__plan_id", "base__method__service__slug", "base__method__slug", "country", "price"
    ):
        book.country_prices[(plan_id, f"{service}.{method}", country)] = price
    for client_id, service, method, price in ClientPrice.objects.values_list(
        "client_id", "method__service__slug", "method__slug", "price"
    ):
        book.client_prices[(client_id, f"{service}.{method}")] = price
    for plan_id, scope, limit, window in PlanRateLimit.objects.values_list(
        "plan_id", "scope", "limit", "window"
    ):
        book.plan_limits.setdefault(plan_id, {})[scope] = Limit(scope, limit, window)
    for client_id, scope, limit, window in ClientRateLimit.objects.values_list(
        "client_id", "scope", "limit", "window"
    ):
        book.client_limits.setdefault(client_id, {})[scope] = Limit(scope, limit, window)
    return book
