"""The admin dashboard: the last 30 days of calls and money, providers' share and health.

Money comes from the daily rollup (a few thousand rows however large the ledger), breaker
state from Redis through apps.routing, in one round trip for every offering. Every amount
is held at the house precision (4 places), on SQLite too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils import timezone

from apps.accounts.models import Client
from apps.catalog.models import Provider
from apps.core.money import ZERO, money_str, to_money
from apps.ledger.models import LedgerDay
from apps.ledger.rollup import accounting_tz
from apps.routing.health import provider_breakers

DAYS = 30
TOP_CLIENTS = 10
_SEVERITY = ["closed", "forced_closed", "half_open", "cooling_down", "open", "forced_open"]


@dataclass
class Figures:
    calls: int = 0
    cost: Decimal = ZERO
    revenue: Decimal = ZERO

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    def add(self, calls: int, cost: Decimal, revenue: Decimal) -> None:
        # SQLite sums decimals as floats: 0.0070 comes back as 0.00700000000000000.
        self.calls += calls
        self.cost += to_money(cost)
        self.revenue += to_money(revenue)

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cost": money_str(self.cost),
            "revenue": money_str(self.revenue),
            "margin": money_str(self.margin),
        }


@dataclass
class ProviderHealth:
    slug: str
    enabled: bool
    state: str  # the worst state among its offerings' breakers
    calls_in_window: int
    faults_in_window: int

    @property
    def fault_rate(self) -> str:
        if not self.calls_in_window:
            return "—"
        return f"{self.faults_in_window / self.calls_in_window:.0%}"


@dataclass
class Dashboard:
    first_day: date
    last_day: date
    currency: str
    days: list[tuple[date, Figures]]
    providers: list[tuple[str, Figures]]
    clients: list[tuple[str, Figures]]
    health: list[ProviderHealth]
    totals: Figures = field(default_factory=Figures)

    def chart_data(self) -> dict[str, Any]:
        """What the charts draw, money as decimal strings (Chart.js parses them)."""
        return {
            "days": [day.isoformat() for day, _ in self.days],
            "daily": [figures.as_json() for _, figures in self.days],
            "providers": [slug or "(none)" for slug, _ in self.providers],
            "by_provider": [figures.as_json() for _, figures in self.providers],
        }


def ledger_dashboard(*, today: date | None = None) -> Dashboard:
    """The dashboard's figures for the DAYS accounting days up to `today` (included)."""
    last = today or timezone.localtime(timezone.now(), accounting_tz()).date()
    first = last - timedelta(days=DAYS - 1)
    buckets: QuerySet[Any] = LedgerDay.objects.filter(day__gte=first, day__lte=last).order_by()
    sums: dict[str, Any] = {"n": Sum("calls"), "c": Sum("cost"), "r": Sum("revenue")}
    row: dict[str, Any]

    by_day = {day: Figures() for day in (first + timedelta(days=n) for n in range(DAYS))}
    totals = Figures()
    for row in buckets.values("day").annotate(**sums):
        by_day[row["day"]].add(row["n"], row["c"], row["r"])
        totals.add(row["n"], row["c"], row["r"])

    providers: list[tuple[str, Figures]] = []
    for row in buckets.values("provider").annotate(**sums).order_by("-n", "provider"):
        figures = Figures()
        figures.add(row["n"], row["c"], row["r"])
        providers.append((row["provider"], figures))

    top: list[dict[str, Any]] = list(
        buckets.values("client_id").annotate(**sums).order_by("-r", "client_id")[:TOP_CLIENTS]
    )
    slugs = dict(
        Client.objects.filter(pk__in=[r["client_id"] for r in top]).values_list("pk", "slug")
    )
    clients: list[tuple[str, Figures]] = []
    for row in top:
        figures = Figures()
        figures.add(row["n"], row["c"], row["r"])
        clients.append((slugs[row["client_id"]], figures))

    return Dashboard(
        first_day=first,
        last_day=last,
        currency=settings.ACCOUNTING_CURRENCY,
        days=sorted(by_day.items()),
        providers=providers,
        clients=clients,
        health=provider_health(),
        totals=totals,
    )


def provider_health() -> list[ProviderHealth]:
    """Each provider's worst breaker state and its fault rate over the breaker window."""
    providers = list(Provider.objects.order_by("slug"))
    grouped = provider_breakers(providers)
    health = []
    for provider in providers:
        views = [view for _, view in grouped.get(provider.pk, [])]
        states = [view.state for view in views if view.state in _SEVERITY]
        health.append(
            ProviderHealth(
                slug=provider.slug,
                enabled=provider.enabled,
                state=max(states, key=_SEVERITY.index) if states else "—",
                calls_in_window=sum(view.calls_in_window for view in views),
                faults_in_window=sum(view.faults_in_window for view in views),
            )
        )
    return health
