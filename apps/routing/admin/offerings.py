"""The offering pages: which provider serves which method, in which order, at what cost,
with each offering's breaker (state, fault rate, latency, last error) beside it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from apps.catalog.forms import MethodChoicesMixin, MethodListFilter
from apps.catalog.models import Offering, OfferingCountryCost
from apps.catalog.services import catalog_cache_invalidate
from apps.routing.admin.breakers import OfferingBreakerAdmin
from apps.routing.admin.providers import set_enabled


class OfferingCountryCostInline(admin.TabularInline):
    model = OfferingCountryCost
    fields = ("country", "cost")
    extra = 0


@admin.register(Offering)
class OfferingAdmin(MethodChoicesMixin, SimpleHistoryAdmin, OfferingBreakerAdmin):
    list_display = (
        "provider",
        "method",
        "enabled",
        "priority",
        "weight",
        "cost",
        "provider_enabled",
        "country_cost_count",
        "breaker_state",
        "breaker_fault_rate",
        "breaker_latency",
        "breaker_last_error",
    )
    list_display_links = ("provider",)
    list_editable = ("priority", "weight", "enabled", "cost")
    list_filter = (("method", MethodListFilter), "provider", "enabled")
    list_select_related = ("provider", "method__service")
    search_fields = ("provider__slug", "method__slug", "method__service__slug")
    fields = ("provider", "method", "enabled", "priority", "weight", "cost")
    inlines = (OfferingCountryCostInline,)
    actions = ("enable_offerings", "disable_offerings", *OfferingBreakerAdmin.breaker_actions)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Offering]:
        return super().get_queryset(request).annotate(_country_costs=Count("country_costs"))

    def get_readonly_fields(self, request: HttpRequest, obj: Offering | None = None) -> Any:
        # Which provider serves which method is the identity of an offering.
        return ("provider", "method") if obj is not None else ()

    @admin.display(description="provider enabled", boolean=True, ordering="provider__enabled")
    def provider_enabled(self, obj: Offering) -> bool:
        return obj.provider.enabled

    @admin.display(description="country costs", ordering="_country_costs")
    def country_cost_count(self, obj: Offering) -> int:
        return obj._country_costs  # type: ignore[attr-defined]

    @admin.action(description="Enable selected offerings", permissions=["change"])
    def enable_offerings(self, request: HttpRequest, queryset: QuerySet[Offering]) -> None:
        updated = set_enabled(request, list(queryset), Offering, enabled=True)
        catalog_cache_invalidate()
        self.message_user(request, f"Enabled {updated} offering(s).", messages.SUCCESS)

    @admin.action(description="Disable selected offerings", permissions=["change"])
    def disable_offerings(self, request: HttpRequest, queryset: QuerySet[Offering]) -> None:
        updated = set_enabled(request, list(queryset), Offering, enabled=False)
        catalog_cache_invalidate()
        self.message_user(request, f"Disabled {updated} offering(s).", messages.SUCCESS)
