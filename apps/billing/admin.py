"""Plans, what each method costs on them, and how often their clients may call.

A plan's page holds its prices (with the monthly free calls per method) and its rate limits;
a price's own page holds its per-country prices. Negotiated prices and rate-limit overrides
of one client are on the client's page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.billing.models import (
    ClientPrice,
    ClientRateLimit,
    CountryPrice,
    Plan,
    PlanRateLimit,
    Price,
)
from apps.catalog.forms import MethodChoicesMixin


class PriceInline(MethodChoicesMixin, admin.TabularInline):
    model = Price
    fields = ("method", "price", "free_calls", "country_price_count")
    readonly_fields = ("country_price_count",)
    extra = 1
    show_change_link = True  # a price's page holds its per-country prices

    def get_queryset(self, request: HttpRequest) -> QuerySet[Price]:
        return (
            super()
            .get_queryset(request)
            .select_related("method__service")
            .annotate(_countries=Count("country_prices"))
        )

    @admin.display(description="country prices")
    def country_price_count(self, obj: Price) -> int:
        return getattr(obj, "_countries", 0)


class PlanRateLimitInline(admin.TabularInline):
    model = PlanRateLimit
    fields = ("scope", "limit", "window")
    extra = 0
    verbose_name = "rate limit"
    verbose_name_plural = (
        "rate limits (none: unlimited; scope is 'total', a service or a method key)"
    )


@admin.register(Plan)
class PlanAdmin(SimpleHistoryAdmin):
    list_display = (
        "slug",
        "name",
        "price_count",
        "rate_limit_count",
        "client_count",
        "charge_failed_calls",
    )
    list_filter = ("charge_failed_calls",)
    search_fields = ("slug", "name")
    fields = ("slug", "name", "description", "charge_failed_calls")
    inlines = (PriceInline, PlanRateLimitInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _prices=Count("prices", distinct=True),
                _clients=Count("clients", distinct=True),
                _limits=Count("rate_limits", distinct=True),
            )
        )

    @admin.display(description="prices", ordering="_prices")
    def price_count(self, obj: Plan) -> int:
        return obj._prices  # type: ignore[attr-defined]

    @admin.display(description="rate limits", ordering="_limits")
    def rate_limit_count(self, obj: Plan) -> int:
        return obj._limits  # type: ignore[attr-defined]

    @admin.display(description="clients", ordering="_clients")
    def client_count(self, obj: Plan) -> int:
        return obj._clients  # type: ignore[attr-defined]


class CountryPriceInline(admin.TabularInline):
    model = CountryPrice
    fields = ("country", "price")
    extra = 1
    verbose_name_plural = "prices for requesters in one country (instead of the price above)"


@admin.register(Price)
class PriceAdmin(MethodChoicesMixin, SimpleHistoryAdmin):
    list_display = ("plan", "method", "price", "free_calls")
    list_filter = ("plan",)
    list_select_related = ("plan", "method__service")
    search_fields = ("plan__slug", "method__slug", "method__service__slug")
    fields = ("plan", "method", "price", "free_calls")
    inlines = (CountryPriceInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A price belongs to one plan and method; to move it, delete it and add another.
        return ("plan", "method") if obj is not None else ()


@admin.register(ClientPrice)
class ClientPriceAdmin(MethodChoicesMixin, SimpleHistoryAdmin):
    """Negotiated prices on a page of their own: ops set them without the right to change
    the client itself (its credit limit is finance's business). Also inline on the client."""

    list_display = ("client", "method", "price")
    list_filter = ("method__service",)
    search_fields = ("client__slug", "client__name")
    list_select_related = ("client", "method__service")
    autocomplete_fields = ("client",)


@admin.register(ClientRateLimit)
class ClientRateLimitAdmin(admin.ModelAdmin):
    """Per-client rate-limit overrides, on a page of their own for the same reason."""

    list_display = ("client", "scope", "limit", "window")
    list_filter = ("window",)
    search_fields = ("client__slug", "client__name", "scope")
    list_select_related = ("client",)
    autocomplete_fields = ("client",)
