"""The catalog in the admin: services, methods and their routing policies.

Every row saved here goes through the model's full_clean and a post_save signal that drops
the cached catalog snapshot. The provider and offering pages show each row's circuit
breakers too, so they are composed above routing, in apps.routing.admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.related import ForeignKey
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from apps.catalog.forms import (
    MethodChoicesMixin,
    RoutingPolicyForm,
    methods_with_service,
)
from apps.catalog.models import (
    Method,
    Offering,
    RoutingPolicy,
    Service,
)
from apps.catalog.registry import registry

# --- Service --------------------------------------------------------------------------------


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    """Services are defined in code and synced; ops only switch them on and off."""

    list_display = ("slug", "name", "enabled", "method_count")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("slug", "name")
    fields = ("slug", "name", "description", "enabled", "created_at", "updated_at")
    readonly_fields = ("slug", "name", "description", "created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return super().get_queryset(request).annotate(_method_count=Count("methods"))

    @admin.display(description="methods", ordering="_method_count")
    def method_count(self, obj: Service) -> int:
        return obj._method_count  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a service without code behind it could never be called

    def has_delete_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        # Rows backed by code come back on the next sync: only orphans of removed code may go.
        return (
            obj is not None
            and obj.slug not in registry.services
            and super().has_delete_permission(request, obj)
        )


# --- Method ---------------------------------------------------------------------------------


class RoutingPolicyInline(admin.StackedInline):
    model = RoutingPolicy
    form = RoutingPolicyForm
    fields = ("strategy", "failover", "max_attempts", "deadline_ms", "cache_ttl_s")
    can_delete = False
    extra = 1
    max_num = 1


class MethodOfferingInline(admin.TabularInline):
    """The providers serving this method; cost and country costs are edited on the offering."""

    model = Offering
    verbose_name_plural = "offerings (edit costs on the offering itself)"
    fields = ("provider", "provider_enabled", "enabled", "priority", "weight", "cost")
    readonly_fields = ("provider", "provider_enabled", "cost")
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Offering]:
        return super().get_queryset(request).select_related("provider", "method__service")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # adding checks the adapter: done on the offering page

    @admin.display(description="provider enabled", boolean=True)
    def provider_enabled(self, obj: Offering) -> bool:
        return obj.provider.enabled


@admin.register(Method)
class MethodAdmin(admin.ModelAdmin):
    """Methods are defined in code; ops switch them and set their routing policy."""

    list_display = (
        "key",
        "name",
        "enabled",
        "idempotent",
        "cacheable",
        "live_offerings",
        "strategy",
    )
    list_display_links = ("key",)
    list_editable = ("enabled",)
    list_filter = ("service", "enabled", "idempotent", "cacheable")
    list_select_related = ("service", "routing")
    search_fields = ("slug", "name", "service__slug")
    fields = (
        "service",
        "slug",
        "name",
        "description",
        "enabled",
        "idempotent",
        "cacheable",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "service",
        "slug",
        "name",
        "description",
        "idempotent",
        "cacheable",
        "created_at",
        "updated_at",
    )
    inlines = (RoutingPolicyInline, MethodOfferingInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Method]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _live=Count(
                    "offerings",
                    filter=Q(offerings__enabled=True, offerings__provider__enabled=True),
                ),
                _offerings=Count("offerings"),
            )
        )

    @admin.display(description="key", ordering="service__slug")
    def key(self, obj: Method) -> str:
        return obj.key

    @admin.display(description="enabled offerings", ordering="_live")
    def live_offerings(self, obj: Method) -> str:
        """Offerings that can serve now (offering and provider enabled), of all offerings."""
        live: int = obj._live  # type: ignore[attr-defined]
        total: int = obj._offerings  # type: ignore[attr-defined]
        if live == 0:
            return format_html('<strong style="color:#ba2121">0</strong> of {}', total)
        return f"{live} of {total}"

    @admin.display(description="strategy", ordering="routing__strategy")
    def strategy(self, obj: Method) -> str:
        policy = getattr(obj, "routing", None)
        return policy.strategy if policy else "— (default)"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # methods come from a service definition in code

    def has_delete_permission(self, request: HttpRequest, obj: Method | None = None) -> bool:
        return (
            obj is not None
            and registry.method(obj.key) is None
            and super().has_delete_permission(request, obj)
        )


# --- Routing policy -------------------------------------------------------------------------


@admin.register(RoutingPolicy)
class RoutingPolicyAdmin(MethodChoicesMixin, SimpleHistoryAdmin):
    form = RoutingPolicyForm
    list_display = ("method", "strategy", "failover", "max_attempts", "deadline_ms", "cache_ttl_s")
    list_filter = ("strategy", "failover")
    list_select_related = ("method__service",)
    search_fields = ("method__slug", "method__service__slug")

    def get_readonly_fields(self, request: HttpRequest, obj: RoutingPolicy | None = None) -> Any:
        return ("method",) if obj is not None else ()

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "method":
            # One policy per method: offer only the methods that have none yet.
            kwargs["queryset"] = methods_with_service().filter(routing__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
