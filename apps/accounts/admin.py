"""Clients and their API keys. A key is shown once, when it is created, and never again."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from apps.accounts.models import Client, ClientApiKey
from apps.accounts.services import client_webhook_secret_rotate
from apps.accounts.signals import principals_cache_invalidate
from apps.billing.models import ClientPrice, ClientRateLimit
from apps.catalog.forms import MethodChoicesMixin
from apps.ledger.forms import BookingForm
from apps.ledger.models import LedgerEntry
from apps.ledger.services import BookingRefused, ledger_adjust, ledger_topup

BOOK_PERMISSION = "ledger.book_ledgerentry"

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


class ClientPriceInline(MethodChoicesMixin, admin.TabularInline):
    model = ClientPrice
    fields = ("method", "price")
    extra = 0
    verbose_name_plural = "negotiated prices (instead of the plan's, in every country)"


class ClientRateLimitInline(admin.TabularInline):
    model = ClientRateLimit
    fields = ("scope", "limit", "window")
    extra = 0
    verbose_name_plural = "rate limit overrides (replace the plan's limit of the same scope)"


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
        "held",
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
        "credit_limit",
        "balance",
        "held",
        "available",
        "booking_link",
        "new_api_key_link",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "balance",
        "held",
        "available",
        "booking_link",
        "new_api_key_link",
        "created_at",
        "updated_at",
    )
    inlines = (ClientPriceInline, ClientRateLimitInline, ClientApiKeyInline)
    actions = ("suspend_clients", "reactivate_clients", "rotate_webhook_secret")

    @admin.display(description="available")
    def available(self, obj: Client) -> str:
        return "" if obj.pk is None else f"{obj.available} (balance - held + credit limit)"

    @admin.display(description="ledger")
    def booking_link(self, obj: Client) -> str:
        if obj.pk is None:
            return "Save the client first."
        rows = reverse("admin:ledger_ledgerentry_changelist") + f"?q={obj.slug}"
        book = reverse("admin:accounts_client_book", args=[obj.pk])
        return format_html(
            '<a href="{}">Its ledger rows</a> &middot; '
            '<a href="{}">Book a top-up or adjustment</a>',
            rows,
            book,
        )

    def get_urls(self) -> list[URLPattern]:
        book = path(
            "<int:object_id>/book/",
            self.admin_site.admin_view(self.book_view),
            name="accounts_client_book",
        )
        return [book, *super().get_urls()]

    def book_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Book a top-up or an adjustment for one client, with a reason, as this staff user."""
        if not request.user.has_perm(BOOK_PERMISSION):
            raise PermissionDenied
        client = get_object_or_404(Client, pk=object_id)
        back = reverse("admin:accounts_client_change", args=[client.pk])
        form = BookingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            is_topup = form.cleaned_data["kind"] == LedgerEntry.Kind.TOPUP
            book = ledger_topup if is_topup else ledger_adjust
            try:
                entry = book(
                    client=client,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    staff_user=request.user,  # type: ignore[arg-type]
                )
            except BookingRefused as refused:
                form.add_error(None, str(refused))
            else:
                client.refresh_from_db(fields=["balance"])
                self.message_user(
                    request,
                    f"Booked {entry.get_kind_display().lower()} {entry.amount} for {client.slug} "
                    f"(row {entry.request_id}); the balance is now {client.balance}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(back)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Book a top-up or adjustment for {client.slug}",
            "subject": client.slug,
            "intro": f"Balance {client.balance}, held {client.held}, "
            f"credit limit {client.credit_limit}. The row is final: a mistake is corrected "
            "by reversing it from its ledger page.",
            "form": form,
            "submit_label": "Book",
            "back_url": back,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/ledger/booking_form.html", context)

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

    @admin.action(
        description="Rotate the webhook secret of one client (shown once)", permissions=["change"]
    )
    def rotate_webhook_secret(self, request: HttpRequest, queryset: QuerySet[Client]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one client.", messages.ERROR)
            return
        client = queryset.get()
        secret = client_webhook_secret_rotate(client=client)
        self.message_user(
            request,
            f"New webhook secret of {client.slug}: {secret} — hand it to the client now; it is "
            "not shown again. Callbacks are signed with it (X-Signature) from now on.",
            messages.WARNING,
        )

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
