"""Sent messages and their delivery events, read-only: vendors and calls write them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.core.admin import ReadOnlyAdmin
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
    list_select_related = ["ledger_entry"]
    raw_id_fields = ["ledger_entry"]

    @admin.display(description="request id")
    def request_id(self, message: SentMessage) -> str:
        return message.ledger_entry.request_id


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
