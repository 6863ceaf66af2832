"""The ledger for finance and ops: rows are never edited or deleted, here or anywhere.

Paste a request id (from an X-Request-ID header or a log line) into the search box to find
its row; the detail page shows every attempt and the routing decision. The list stays fast on
tens of millions of rows: no exact count of the whole ledger (admin_paging), a search that
resolves its term to ids before it reads the ledger (admin_search), and no query that reads
every row for a filter's choices, a column's sort or a date hierarchy. A staff user with the
"book" permission corrects a row by reversing it (a refund of a charged call), with a reason.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin import ReadOnlyAdmin
from apps.ledger import admin_audit  # noqa: F401  (registers the redaction and token pages)
from apps.ledger.admin_paging import EstimatedCountPaginator, NewestFirstChangeList
from apps.ledger.admin_search import (
    SEARCH_HELP_TEXT,
    ClientFilter,
    ProviderFilter,
    ServiceFilter,
    ledger_search,
)
from apps.ledger.dashboard import DAYS, ledger_dashboard
from apps.ledger.forms import ReversalForm
from apps.ledger.models import HoldReleaseRun, LedgerEntry, LedgerReversal
from apps.ledger.services import BookingRefused, ledger_reverse

BOOK_PERMISSION = "ledger.book_ledgerentry"


def pretty_json(value: Any) -> str:
    return format_html(
        '<pre style="white-space:pre-wrap;margin:0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str),
    )


DATE_PARTS = {"year", "iso_year", "quarter", "month", "week", "week_day", "iso_week_day", "day"}


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):  # append-only: the call path and bookings write rows
    list_display = (
        "created_at",
        "request_id",
        "kind",
        "client",
        "service",
        "method",
        "provider",
        "status",
        "http_status",
        "price",
        "amount",
        "cost",
        "margin",
        "cached",
        "latency_ms",
        "channel",
    )
    list_display_links = ("created_at", "request_id")
    list_filter = (
        "kind",
        "status",
        "channel",
        "cached",
        "free_call",
        ClientFilter,
        ServiceFilter,
        ProviderFilter,
        "created_at",  # today, 7 days, this month, this year: a range on the created_at index
    )
    list_select_related = ("client",)
    # No date_hierarchy: it asks for the DISTINCT years (months, days) of the matching rows,
    # which reads all of them. No facets (counts per filter choice) and no sorting by column:
    # each reads every row. The list is newest first, the order the indexes keep.
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ()
    # Shows the box; get_search_results resolves the term (apps/ledger/admin_search.py).
    search_fields = ("=request_id",)
    search_help_text = SEARCH_HELP_TEXT
    show_full_result_count = False  # a COUNT(*) of the whole ledger on every page is costly
    paginator = EstimatedCountPaginator
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
        (
            "Money",
            {
                "fields": (
                    ("price", "cost", "margin", "currency"),
                    ("amount", "cached", "free_call"),
                )
            },
        ),
        ("Booking", {"fields": ("reason", "created_by", "reverses", "reversal")}),
        ("Routing", {"fields": ("attempts_table", "routing_decision", "attempts_json")}),
    )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # created_at__month and its kin (a date hierarchy's links, typed into the URL) EXTRACT
        # from every row; the created filter's ranges read the index instead. Refused: a 400.
        if lookup.rsplit("__", 1)[-1] in DATE_PARTS:
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[NewestFirstChangeList]:
        return NewestFirstChangeList

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            *(f.name for f in LedgerEntry._meta.fields if f.name not in {"attempts", "routing"}),
            "margin",
            "reversal",
            "attempts_table",
            "attempts_json",
            "routing_decision",
        ]

    @admin.display(description="reversed by")
    def reversal(self, obj: LedgerEntry) -> str:
        # Through the claim (its primary key): `reverses` has no index of its own.
        claim = LedgerReversal.objects.filter(reversed_entry_id=obj.pk).first()
        reversing = (
            LedgerEntry.objects.filter(pk=claim.reversal_id).only("pk", "request_id").first()
            if claim is not None
            else None
        )
        if reversing is not None:
            url = reverse("admin:ledger_ledgerentry_change", args=[reversing.pk])
            return format_html('<a href="{}">{}</a>', url, reversing.request_id)
        if obj.amount == 0 or obj.reverses_id is not None or obj.kind == LedgerEntry.Kind.CARRIED:
            return "-"
        url = reverse("admin:ledger_ledgerentry_reverse", args=[obj.pk])
        label = "Refund this call" if obj.kind == LedgerEntry.Kind.CHARGE else "Reverse this row"
        return format_html('Not reversed. <a href="{}">{}</a>', url, label)

    def get_urls(self) -> list[URLPattern]:
        reverse_url = path(
            "<int:object_id>/reverse/",
            self.admin_site.admin_view(self.reverse_view),
            name="ledger_ledgerentry_reverse",
        )
        dashboard_url = path(
            "dashboard/",
            self.admin_site.admin_view(self.dashboard_view),
            name="ledger_dashboard",
        )
        return [reverse_url, dashboard_url, *super().get_urls()]

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """Calls, cost, revenue and margin for 30 days; providers' share and health."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        dashboard = ledger_dashboard()
        calls = dashboard.totals.calls
        context = {
            **self.admin_site.each_context(request),
            "title": "Ledger dashboard",
            "opts": self.opts,
            "dashboard": dashboard,
            "days": DAYS,
            "time_zone": settings.ACCOUNTING_TIME_ZONE,
            "providers": [
                (slug, figures, f"{figures.calls / calls:.1%}" if calls else "—")
                for slug, figures in dashboard.providers
            ],
            "chart_data": dashboard.chart_data(),
        }
        return TemplateResponse(request, "admin/ledger/dashboard.html", context)

    def reverse_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Book the row that undoes one row (a refund of a charged call), with a reason."""
        if not request.user.has_perm(BOOK_PERMISSION):
            raise PermissionDenied
        entry = get_object_or_404(LedgerEntry.objects.select_related("client"), pk=object_id)
        back = reverse("admin:ledger_ledgerentry_change", args=[entry.pk])
        form = ReversalForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                reversing = ledger_reverse(
                    entry=entry,
                    reason=form.cleaned_data["reason"],
                    staff_user=request.user,  # type: ignore[arg-type]
                )
            except BookingRefused as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(
                    request,
                    f"Booked {reversing.get_kind_display().lower()} {reversing.amount} for "
                    f"{entry.client.slug}, reversing {entry.request_id}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:ledger_ledgerentry_change", args=[reversing.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reverse {entry.request_id}",
            "subject": entry.request_id,
            "intro": f"This books a new row of {-entry.amount} for {entry.client.slug}; "
            "the row itself stays as it is.",
            "form": form,
            "submit_label": "Book the reversal",
            "back_url": back,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/ledger/booking_form.html", context)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LedgerEntry], search_term: str
    ) -> tuple[QuerySet[LedgerEntry], bool]:
        return ledger_search(queryset, search_term), False

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


@admin.register(HoldReleaseRun)
class HoldReleaseRunAdmin(ReadOnlyAdmin):
    """The periodic release of dangling holds, one row per run; written by the task only."""

    list_display = ("started_at", "finished_at", "hold_age_s", "holds_released", "amount_released")
    date_hierarchy = "started_at"
