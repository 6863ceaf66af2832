"""Sent messages and their delivery events, read-only: vendors and calls write them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from apps.core.admin import ReadOnlyAdmin
from apps.ledger.models import LedgerEntry
from apps.messaging.models import DeliveryEvent, SentMessage


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    fields = readonly_fields = ("occurred_at", "event", "status", "recipient", "detail", "event_id")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SentMessage)
class SentMessageAdmin(ReadOnlyAdmin):
    """Paste a request id or the provider's message id into the search box."""

    list_display = ["created_at", "service", "provider", "message_id", "status", "request_id"]
    list_filter = ["service", "provider", "status"]
    # Exact matches: an index serves them (iexact's UPPER(...) would scan the table).
    search_fields = ["message_id__exact", "ledger_entry__request_id__exact"]
    readonly_fields = [
        "ledger_entry",
        "service",
        "provider",
        "message_id",
        "status",
        "status_at",
        "created_at",
    ]
    inlines = [DeliveryEventInline]
    raw_id_fields = ["ledger_entry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SentMessage]:
        # The ledger row's request id looked up, not joined: a join (select_related) is INNER,
        # so a message whose ledger month ledger_archive took would drop out of the list.
        rows = LedgerEntry.objects.filter(pk=OuterRef("ledger_entry_id")).values("request_id")
        return super().get_queryset(request).annotate(entry_request_id=Subquery(rows[:1]))

    @admin.display(description="request id")
    def request_id(self, message: SentMessage) -> str:
        found: str | None = getattr(message, "entry_request_id", None)
        return found if found is not None else f"row {message.ledger_entry_id} (archived)"


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "event", "status", "message_id", "linked"]
    list_filter = ["provider", "status"]
    search_fields = ["message_id__exact", "event_id__exact"]
    readonly_fields = [
        "provider",
        "event_id",
        "message_id",
        "sent_message",
        "event",
        "status",
        "recipient",
        "detail",
        "occurred_at",
        "received_at",
        "payload",
    ]

    @admin.display(boolean=True, description="linked to a call")
    def linked(self, event: DeliveryEvent) -> bool:
        return event.sent_message_id is not None
