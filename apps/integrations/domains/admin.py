"""The domains service's records for ops: read-only, calls and registrars write them.

Search by domain or order id; a purchase whose initial DNS records failed (dns_error) can be
sent to the registrar again from the purchases list.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import ReadOnlyAdmin
from apps.core.fields import UnreadableSecrets
from apps.integrations.domains.models import (
    Domain,
    Purchase,
    RegistrantAccount,
    RegistrationIntention,
)
from apps.integrations.domains.services import initial_dns_send


@admin.register(RegistrationIntention)
class RegistrationIntentionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "domain", "client", "provider", "price", "currency", "finished"]
    list_filter = ["finished", "provider", "client"]
    search_fields = ["domain", "=id"]
    list_select_related = ["client"]
    readonly_fields = [
        "id",
        "client",
        "domain",
        "provider",
        "price",
        "currency",
        "finished",
        "created_at",
        "finished_at",
        "schema",
        "registration_data",
    ]


@admin.register(RegistrantAccount)
class RegistrantAccountAdmin(ReadOnlyAdmin):
    """Sub-accounts at registrars; their passwords are never shown."""

    list_display = ["client", "provider", "account_ids", "created_at"]
    list_filter = ["provider", "client"]
    search_fields = ["client__slug", "client__name"]
    list_select_related = ["client"]
    fields = ("client", "provider", "account_ids", "created_at")
    readonly_fields = fields

    @admin.display(description="account")
    def account_ids(self, account: RegistrantAccount) -> str:
        data = account.account
        if isinstance(data, UnreadableSecrets):
            return "(cannot be decrypted with the configured keys)"
        return ", ".join(f"{k}={v}" for k, v in sorted(data.items()) if k != "password")


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "domain",
        "client",
        "provider",
        "order_id",
        "total",
        "currency",
        "dns_configured",
        "dns_error",
    ]
    list_filter = ["dns_configured", "intention__provider", "intention__client"]
    search_fields = ["intention__domain", "=order_id", "=request_id"]
    list_select_related = ["intention__client"]
    readonly_fields = [
        "intention",
        "account",
        "request_id",
        "order_id",
        "total",
        "currency",
        "period",
        "dns_records",
        "dns_configured",
        "dns_error",
        "created_at",
    ]
    actions = ["set_dns_again"]

    @admin.display(description="domain", ordering="intention__domain")
    def domain(self, purchase: Purchase) -> str:
        return purchase.intention.domain

    @admin.display(description="client")
    def client(self, purchase: Purchase) -> str:
        return str(purchase.intention.client)

    @admin.display(description="registrar", ordering="intention__provider")
    def provider(self, purchase: Purchase) -> str:
        return purchase.intention.provider

    @admin.action(description="Set the initial DNS records again")
    def set_dns_again(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        ids = list(
            queryset.filter(dns_configured=False)
            .exclude(dns_records=[])
            .values_list("pk", flat=True)
        )
        Purchase.objects.filter(pk__in=ids).update(dns_error="")
        for purchase_id in ids:
            initial_dns_send(purchase_id=purchase_id)
        self.message_user(
            request, f"{len(ids)} purchase(s) sent to their registrar again.", messages.INFO
        )


@admin.register(Domain)
class DomainAdmin(ReadOnlyAdmin):
    """Which client holds which domain at which registrar (the pin of get/renew/set_dns)."""

    list_display = ["name", "client", "provider", "expires_at", "created_at"]
    list_filter = ["provider", "client"]
    search_fields = ["name", "=purchase__order_id"]
    list_select_related = ["client"]
    readonly_fields = ["name", "client", "provider", "purchase", "expires_at", "created_at"]
