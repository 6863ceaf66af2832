"""Background calls and their callback deliveries, read-only for ops."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.realtime.models import AsyncCall, CallbackDelivery


class CallbackDeliveryInline(admin.TabularInline):
    model = CallbackDelivery
    extra = 0
    can_delete = False
    fields = (
        "attempt",
        "created_at",
        "url",
        "status_code",
        "delivered",
        "final",
        "duration_ms",
        "error",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AsyncCall)
class AsyncCallAdmin(admin.ModelAdmin):
    list_display = ["request_id", "client", "service", "method", "status", "runs", "created_at"]
    list_filter = ["status", "channel", "service"]
    search_fields = ["request_id", "client__slug"]
    list_select_related = ["client"]
    inlines = [CallbackDeliveryInline]
    readonly_fields = [f.name for f in AsyncCall._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(admin.ModelAdmin):
    list_display = ["call", "attempt", "url", "status_code", "delivered", "created_at"]
    list_filter = ["delivered"]
    search_fields = ["call__request_id", "url"]
    list_select_related = ["call"]
    readonly_fields = [f.name for f in CallbackDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
