"""The provider pages: settings, write-only credentials, thresholds and breakers now.

A provider row is the catalog's; the page also shows and drives the breakers of its
offerings (apps.routing.admin.breakers), so it is composed here, above both.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin
from simple_history.utils import bulk_update_with_history

from apps.catalog.forms import (
    CREDENTIAL_FIELD_PREFIX,
    ProviderAdminForm,
    countries_summary,
    credential_field_names,
    provider_admin_form,
)
from apps.catalog.models import Provider
from apps.catalog.registry import registry
from apps.catalog.services import catalog_cache_invalidate, provider_set_credentials
from apps.core.fields import UnreadableSecrets
from apps.routing.admin.breakers import ProviderBreakerAdmin


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
        updated = set_enabled(request, providers, Provider, enabled=True)
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
        updated = set_enabled(request, list(queryset), Provider, enabled=False)
        catalog_cache_invalidate()
        self.message_user(request, f"Disabled {updated} provider(s).", messages.SUCCESS)


def set_enabled(request: HttpRequest, rows: list[Any], model: Any, *, enabled: bool) -> int:
    """A bulk switch that still leaves one history row per changed row, naming the user."""
    for row in rows:
        row.enabled = enabled
    bulk_update_with_history(rows, model, ["enabled"], default_user=request.user)
    return len(rows)
