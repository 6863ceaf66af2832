"""The ops control room for the catalog: what is enabled, in which order, at what cost.

Every row saved here goes through the model's full_clean and a post_save signal that drops
the cached catalog snapshot; bulk actions that use queryset.update() invalidate explicitly.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.related import ForeignKey
from django.forms import ModelChoiceField, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin
from simple_history.utils import bulk_update_with_history

from apps.catalog.breaker_admin import OfferingBreakerAdmin, ProviderBreakerAdmin
from apps.catalog.forms import (
    CREDENTIAL_FIELD_PREFIX,
    ProviderAdminForm,
    RoutingPolicyForm,
    countries_summary,
    credential_field_names,
    provider_admin_form,
)
from apps.catalog.models import (
    Method,
    Offering,
    OfferingCountryCost,
    Provider,
    RoutingPolicy,
    Service,
)
from apps.catalog.registry import registry
from apps.catalog.services import catalog_cache_invalidate, provider_set_credentials
from apps.core.fields import UnreadableSecrets


class MethodListFilter(admin.RelatedFieldListFilter):
    """Lists methods by key with one query (a method's name needs its service)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[Any]:
        return [(m.pk, m.key) for m in Method.objects.select_related("service")]


def _methods_with_service() -> QuerySet[Method]:
    return Method.objects.select_related("service")


class MethodChoicesMixin:
    """Method drop-downs label each method by its key without a query per option."""

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "method":
            kwargs.setdefault("queryset", _methods_with_service())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


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


# --- Provider -------------------------------------------------------------------------------


def missing_credentials(provider: Provider) -> list[str] | None:
    """The credentials the adapter needs that are not stored; None when that is unknowable."""
    adapter = registry.adapters.get(provider.adapter)
    stored = provider.credentials
    if adapter is None or isinstance(stored, UnreadableSecrets):
        return None
    return adapter.missing_credentials(stored)


def credentials_status(provider: Provider) -> str:
    """Which credentials the adapter needs are set or missing; never a value."""
    adapter = registry.adapters.get(provider.adapter)
    if adapter is None:
        return format_html(
            '<span style="color:#ba2121">adapter {} missing from the registry</span>',
            provider.adapter,
        )
    missing = missing_credentials(provider)
    if missing is None:
        return format_html('<span style="color:#ba2121">{}</span>', "unreadable — key rotated?")
    if not adapter.credential_fields:
        return "none needed"
    present = [name for name in adapter.credential_fields if provider.credentials.get(name)]
    optional = [n for n in adapter.credential_fields if n not in present and n not in missing]
    parts = []
    if present:
        parts.append(format_html("set: {}", ", ".join(present)))
    if missing:
        parts.append(
            format_html('<span style="color:#ba2121">missing: {}</span>', ", ".join(missing))
        )
    if optional:
        parts.append(format_html("not set (optional): {}", ", ".join(optional)))
    return format_html_join("; ", "{}", ((part,) for part in parts))


def credentials_dropped_message(provider: Provider) -> str:
    kept = ", ".join(sorted(provider.credentials))
    if kept:
        now = f"Only what this form entered is stored ({kept})."
    else:
        now = "Enter them again if they are meant for the new host."
    return (
        f"The host or adapter of {provider.slug} changed, so its stored credentials were "
        f"cleared: they were entered for the old one. {now}"
    )


# Everything a provider row holds except its secrets, which only provider_set_credentials
# writes: a full save would re-encrypt unreadable secrets as {} and lose them for good.
PROVIDER_SETTINGS_FIELDS = [
    f.name
    for f in Provider._meta.concrete_fields
    if not f.primary_key and f.name not in {"credentials", "created_at"}
]


@admin.register(Provider)
class ProviderAdmin(SimpleHistoryAdmin, ProviderBreakerAdmin):
    form = ProviderAdminForm
    list_display = (
        "slug",
        "name",
        "adapter",
        "enabled",
        "timeout_ms",
        "base_url",
        "countries_column",
        "credentials_column",
        "breaker_summary",
    )
    list_filter = ("enabled", "adapter")
    search_fields = ("slug", "name", "adapter", "base_url")
    readonly_fields = ("credentials_column", "breaker_table", "created_at", "updated_at")
    actions = ("enable_providers", "disable_providers", *ProviderBreakerAdmin.breaker_actions)

    def get_form(
        self, request: HttpRequest, obj: Provider | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        # The credential inputs depend on the adapter of the provider being edited.
        kwargs["form"] = provider_admin_form(obj.adapter if obj else "")
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Provider | None = None) -> Any:
        settings_fieldset = (
            None,
            {"fields": ProviderAdminForm.Meta.fields},
        )
        thresholds_fieldset = (
            "Circuit breaker",
            {
                "fields": self.breaker_fields,
                "description": "Applied to each offering of this provider: open after N faults "
                "in a row or at the fault rate over the window; skipped for the cooldown, then "
                "one probe call decides.",
            },
        )
        if obj is None:
            credentials_fieldset = (
                "Credentials",
                {
                    "fields": (),
                    "description": "Save the provider first: the credential fields of its "
                    "adapter then appear here.",
                },
            )
            # Breaker thresholds start at their defaults; tuned on the change page.
            return [settings_fieldset, credentials_fieldset]
        credential_fields: tuple[str, ...] = ()
        if self.has_change_permission(request, obj):  # view-only users get the status only
            credential_fields = (
                *(CREDENTIAL_FIELD_PREFIX + name for name in credential_field_names(obj.adapter)),
                "clear_credentials",
            )
        return [
            settings_fieldset,
            (
                "Credentials",
                {
                    "fields": ("credentials_column", *credential_fields),
                    "description": "Write-only: stored values are never shown. Leave a field "
                    "blank to keep what is stored.",
                },
            ),
            thresholds_fieldset,
            ("Breakers now", {"fields": ("breaker_table",)}),
            ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
        ]

    @admin.display(description="countries served")
    def countries_column(self, obj: Provider) -> str:
        return countries_summary(obj)

    @admin.display(description="credentials")
    def credentials_column(self, obj: Provider) -> str:
        return credentials_status(obj)

    def save_model(
        self, request: HttpRequest, obj: Provider, form: ProviderAdminForm, change: bool
    ) -> None:
        # A new host or adapter drops the stored secrets (Provider.save); those typed in this
        # form are stored after the move, for the new host, by the one who typed them.
        dropping = change and obj.credentials_kept_on_save(PROVIDER_SETTINGS_FIELDS) is not None
        if change:
            obj.save(update_fields=PROVIDER_SETTINGS_FIELDS)
        else:
            obj.save()
        credentials = form.new_credentials()
        if credentials is not None:
            provider_set_credentials(provider=obj, credentials=credentials)
        if dropping:
            self.message_user(request, credentials_dropped_message(obj), messages.WARNING)

    def response_add(
        self, request: HttpRequest, obj: Provider, post_url_continue: str | None = None
    ) -> HttpResponse:
        response = super().response_add(request, obj, post_url_continue)
        plain_save = not {"_addanother", "_continue", IS_POPUP_VAR} & set(request.POST)
        if plain_save and credential_field_names(obj.adapter):
            # Its credential inputs exist only now that the adapter is saved: go straight there.
            self.message_user(request, "Now enter its credentials.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:catalog_provider_change", args=[obj.pk]))
        return response

    @admin.action(description="Enable selected providers", permissions=["change"])
    def enable_providers(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        providers = list(queryset)
        updated = _set_enabled(request, providers, Provider, enabled=True)
        catalog_cache_invalidate()
        self.message_user(request, f"Enabled {updated} provider(s).", messages.SUCCESS)
        not_ready = [p.slug for p in providers if missing_credentials(p) != []]
        if not_ready:
            self.message_user(
                request,
                "Calls to these will fail until their adapter and credentials are in order: "
                + ", ".join(not_ready),
                messages.WARNING,
            )

    @admin.action(description="Disable selected providers", permissions=["change"])
    def disable_providers(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        updated = _set_enabled(request, list(queryset), Provider, enabled=False)
        catalog_cache_invalidate()
        self.message_user(request, f"Disabled {updated} provider(s).", messages.SUCCESS)


def _set_enabled(request: HttpRequest, rows: list[Any], model: Any, *, enabled: bool) -> int:
    """A bulk switch that still leaves one history row per changed row, naming the user."""
    for row in rows:
        row.enabled = enabled
    bulk_update_with_history(rows, model, ["enabled"], default_user=request.user)
    return len(rows)


# --- Offering -------------------------------------------------------------------------------


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
        updated = _set_enabled(request, list(queryset), Offering, enabled=True)
        catalog_cache_invalidate()
        self.message_user(request, f"Enabled {updated} offering(s).", messages.SUCCESS)

    @admin.action(description="Disable selected offerings", permissions=["change"])
    def disable_offerings(self, request: HttpRequest, queryset: QuerySet[Offering]) -> None:
        updated = _set_enabled(request, list(queryset), Offering, enabled=False)
        catalog_cache_invalidate()
        self.message_user(request, f"Disabled {updated} offering(s).", messages.SUCCESS)


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
            kwargs["queryset"] = _methods_with_service().filter(routing__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
