"""Clients and their API keys. A key is shown once, when it is created, and never again."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from apps.accounts.models import Client, ClientApiKey
from apps.accounts.signals import principals_cache_invalidate

# The library's own APIKey table is not what authenticates clients here; a key made there
# would never work, so it is kept out of the ops' way.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class ClientApiKeyInline(admin.TabularInline):
    """The client's keys at a glance; keys are created on the API key page (shown once)."""

    model = ClientApiKey
    fields = ("name", "prefix", "created", "revoked", "expiry_date")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Everything a client row holds except its balance and holds, which only move through
# atomic F() updates of the billing services: a full save would write back stale figures.
CLIENT_SETTINGS_FIELDS = [
    f.name
    for f in Client._meta.concrete_fields
    if not f.primary_key and f.name not in {"balance", "held", "created_at"}
]


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = (
        "slug",
        "name",
        "country",
        "plan",
        "balance",
        "credit_limit",
        "is_active",
    )
    list_filter = ("plan", "country", "is_active")
    list_select_related = ("plan",)
    search_fields = ("slug", "name")
    fields = (
        "slug",
        "name",
        "country",
        "plan",
        "is_active",
        "balance",
        "credit_limit",
        "new_api_key_link",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("balance", "new_api_key_link", "created_at", "updated_at")
    inlines = (ClientApiKeyInline,)
    actions = ("suspend_clients", "reactivate_clients")

    @admin.display(description="API keys")
    def new_api_key_link(self, obj: Client) -> str:
        if obj.pk is None:
            return "Save the client first."
        url = reverse("admin:accounts_clientapikey_add") + f"?client={obj.pk}"
        return format_html('<a href="{}">Create an API key for {}</a>', url, obj.slug)

    def save_model(self, request: HttpRequest, obj: Client, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=CLIENT_SETTINGS_FIELDS)
        else:
            obj.save()

    @admin.action(
        description="Suspend selected clients (their calls get 403)", permissions=["change"]
    )
    def suspend_clients(self, request: HttpRequest, queryset: QuerySet[Client]) -> None:
        updated = queryset.update(is_active=False)
        principals_cache_invalidate()  # update() sends no post_save
        self.message_user(request, f"Suspended {updated} client(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected clients", permissions=["change"])
    def reactivate_clients(self, request: HttpRequest, queryset: QuerySet[Client]) -> None:
        updated = queryset.update(is_active=True)
        principals_cache_invalidate()
        self.message_user(request, f"Reactivated {updated} client(s).", messages.SUCCESS)


@admin.register(ClientApiKey)
class ClientApiKeyAdmin(APIKeyModelAdmin):
    model = ClientApiKey
    # The library's base class types these as tuples of its own exact length.
    list_display = (  # type: ignore[assignment]
        "name",
        "prefix",
        "client",
        "created",
        "revoked",
        "expiry_date",
        "_has_expired",
    )
    list_filter = ("revoked", "created", "expiry_date")  # type: ignore[assignment]
    list_select_related = ("client",)
    search_fields = ("name", "prefix", "client__slug", "client__name")  # type: ignore[assignment]
    autocomplete_fields = ("client",)
    actions = ("revoke_keys",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("client", "name", "expiry_date")  # the key itself appears once, on save
        return ("client", "name", "prefix", "created", "expiry_date", "revoked")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = (*super().get_readonly_fields(request, obj), "created")
        if obj is not None:
            # A key belongs to one client for life; it cannot be moved, only revoked.
            readonly = ("client", *readonly)
        return readonly

    @admin.action(description="Revoke selected keys (cannot be undone)", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ClientApiKey]) -> None:
        updated = queryset.filter(revoked=False).update(revoked=True)
        principals_cache_invalidate()  # update() sends no post_save; revocation is immediate
        self.message_user(request, f"Revoked {updated} key(s).", messages.SUCCESS)
