"""The admin's audit pages that stand beside the ledger: the one-time text scrub's records and
finance staff's API tokens. Both are read (and tokens withdrawn) here, never written."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

from apps.core.admin import ReadOnlyAdmin
from apps.ledger.models import LedgerEntry, LedgerRedaction
from apps.ledger.staff_tokens import LEDGER_PERMISSION


@admin.register(LedgerRedaction)
class LedgerRedactionAdmin(ReadOnlyAdmin):
    """The ledger rows whose stored text migration ledger 0008 rewrote (docs/security.md):
    readable by whoever may read the ledger; written by that migration only."""

    list_display = ("created_at", "request_id", "field_names", "reason")
    search_fields = ("entry__request_id",)
    date_hierarchy = "created_at"
    fields = ("created_at", "entry", "request_id", "field_names", "reason")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerRedaction]:
        # The row's request id looked up, not joined: a join (select_related) is INNER, so a
        # redaction of a row whose month ledger_archive took would drop out of the list.
        rows = LedgerEntry.objects.filter(pk=OuterRef("entry_id")).values("request_id")[:1]
        return super().get_queryset(request).annotate(entry_request_id=Subquery(rows))

    @admin.display(description="request id", ordering="entry_request_id")
    def request_id(self, redaction: LedgerRedaction) -> str:
        found: str | None = getattr(redaction, "entry_request_id", None)
        return found if found is not None else f"row {redaction.entry_id} (archived)"

    @admin.display(description="fields")
    def field_names(self, redaction: LedgerRedaction) -> str:
        return ", ".join(redaction.fields)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(LEDGER_PERMISSION) or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


class StaffTokenAdmin(AuthTokenAdmin):  # type: ignore[misc]  # knox ships no type hints
    """Tokens are listed and withdrawn (deleted) here, never made: knox's add form would skip
    the rule `manage.py create_staff_token USER` enforces (active staff with the ledger view
    permission, apps.ledger.staff_tokens) and would show the token in a page message."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "subtitle": "Make a token with: python manage.py create_staff_token USER",
        }
        return super().changelist_view(request, extra_context)


if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)
admin.site.register(AuthToken, StaffTokenAdmin)
