"""Plans and what each method costs the client on them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.db.models.fields.related import ForeignKey
from django.forms import ModelChoiceField
from django.http import HttpRequest

from apps.billing.models import Plan, Price
from apps.catalog.models import Method


class PriceInline(admin.TabularInline):
    model = Price
    fields = ("method", "price")
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[Price]:
        return super().get_queryset(request).select_related("method__service")

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "method":
            # A method is labelled by its key, which needs its service: load them together.
            kwargs["queryset"] = Method.objects.select_related("service")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "price_count", "client_count", "charge_failed_calls")
    list_filter = ("charge_failed_calls",)
    search_fields = ("slug", "name")
    fields = ("slug", "name", "description", "charge_failed_calls")
    inlines = (PriceInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _prices=Count("prices", distinct=True), _clients=Count("clients", distinct=True)
            )
        )

    @admin.display(description="prices", ordering="_prices")
    def price_count(self, obj: Plan) -> int:
        return obj._prices  # type: ignore[attr-defined]

    @admin.display(description="clients", ordering="_clients")
    def client_count(self, obj: Plan) -> int:
        return obj._clients  # type: ignore[attr-defined]
