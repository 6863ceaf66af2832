"""The ledger for finance and ops: strictly read-only, one row per call.

Paste a request id (from an X-Request-ID header or a log line) into the search box to find
its row; the detail page shows every attempt and the routing decision.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from apps.accounts.models import Client
from apps.catalog.models import Provider, Service
from apps.ledger.models import LedgerEntry


class ServiceFilter(admin.SimpleListFilter):
    """Choices come from the catalog, not from a DISTINCT over the whole ledger."""

    title = "service"
    parameter_name = "service"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Service.objects.order_by("slug").values_list("slug", "slug"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(service=self.value()) if self.value() else queryset


class ProviderFilter(admin.SimpleListFilter):
    title = "provider"
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("-", "none (no provider served)"),
            *Provider.objects.order_by("slug").values_list("slug", "slug"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(provider="" if value == "-" else value)


def pretty_json(value: Any) -> str:
    return format_html(
        '<pre style="white-space:pre-wrap;margin:0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str),
    )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "request_id",
        "client",
        "service",
        "method",
        "provider",
        "status",
        "http_status",
        "price",
        "cost",
        "margin",
        "latency_ms",
        "channel",
    )
    list_display_links = ("created_at", "request_id")
    list_filter = ("status", "channel", ServiceFilter, ProviderFilter, "created_at")
    list_select_related = ("client",)
    date_hierarchy = "created_at"
    # Both exact: they hit the request_id and client indexes instead of scanning the ledger.
    search_fields = ("=request_id", "=client__slug")
    search_help_text = "Paste a request id, or a client's slug."
    show_full_result_count = False  # a COUNT(*) of the whole ledger on every page is costly
    list_per_page = 50
    fieldsets = (
        (
            "Call",
            {
                "fields": (
                    "request_id",
                    "created_at",
                    "kind",
                    "client",
                    "api_key",
                    "channel",
                    "source_ip",
                    "country",
                )
            },
        ),
        (
            "Outcome",
            {
                "fields": (
                    ("service", "method", "provider"),
                    ("status", "http_status", "latency_ms"),
                    "error_type",
                    "error_detail",
                )
            },
        ),
        ("Money", {"fields": (("price", "cost", "margin", "currency"),)}),
        ("Routing", {"fields": ("attempts_table", "routing_decision", "attempts_json")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            *(f.name for f in LedgerEntry._meta.fields if f.name not in {"attempts", "routing"}),
            "margin",
            "attempts_table",
            "attempts_json",
            "routing_decision",
        ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LedgerEntry], search_term: str
    ) -> tuple[QuerySet[LedgerEntry], bool]:
        # A pasted id is matched as is (case-sensitive, so the request_id index serves it),
        # quotes or stray whitespace around it ignored; a slug in any case finds the client.
        term = search_term.strip().strip("\"'").strip()
        if not term:
            return queryset, False
        client_ids = Client.objects.filter(slug=term.lower()).values("pk")
        return queryset.filter(Q(request_id=term) | Q(client_id__in=client_ids)), False

    @admin.display(description="margin")
    def margin(self, obj: LedgerEntry) -> Decimal:
        return obj.price - obj.cost

    @admin.display(description="attempts")
    def attempts_table(self, obj: LedgerEntry) -> str:
        attempts = obj.attempts if isinstance(obj.attempts, list) else []
        if not attempts:
            return "No provider was tried."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    number,
                    attempt.get("provider", ""),
                    attempt.get("outcome", ""),
                    attempt.get("latency_ms", ""),
                    attempt.get("error", ""),
                )
                for number, attempt in enumerate(attempts, start=1)
                if isinstance(attempt, dict)
            ),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>provider</th><th>outcome</th>"
            "<th>latency ms</th><th>error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="attempts (raw)")
    def attempts_json(self, obj: LedgerEntry) -> str:
        return pretty_json(obj.attempts)

    @admin.display(description="routing decision")
    def routing_decision(self, obj: LedgerEntry) -> str:
        return pretty_json(obj.routing)

    # Append-only: rows are written by the call path, never by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
