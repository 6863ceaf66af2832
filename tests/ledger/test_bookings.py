"""Top-ups, adjustments and reversals: ledger rows with a reason and the staff user, so that a
client's balance is always the sum of its rows."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.db.models import Sum
from django.test import Client as HttpClient
from django.urls import reverse

from apps.accounts.models import Client
from apps.billing.models import Price
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import ledger_balance_differences
from apps.ledger.services import BookingRefused, ledger_adjust, ledger_reverse, ledger_topup
from tests import factories
from tests.factories.ledger import ledger_entry
from tests.integrations.currency.vendor_answers import FIXER_LATEST

LATEST = "/api/v1/services/currency/latest_rates/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("finance", is_staff=True)


def balance_of(client: Client) -> Decimal:
    return Client.objects.get(pk=client.pk).balance


def test_a_top_up_raises_the_balance_and_names_who_booked_it(staff):
    # given
    client = factories.ClientFactory()

    # when
    entry = ledger_topup(
        client=client, amount=Decimal("50"), reason="wire 2026-11-28", staff_user=staff
    )

    # then
    assert balance_of(client) == Decimal("50.0000")
    assert (entry.kind, entry.amount, entry.price, entry.channel) == (
        "topup",
        Decimal("50.0000"),
        Decimal("0"),
        "staff",
    )
    assert (entry.reason, entry.created_by) == ("wire 2026-11-28", staff)


def test_an_adjustment_goes_either_way(staff):
    client = factories.ClientFactory()

    ledger_adjust(client=client, amount=Decimal("-2.5"), reason="missed fee", staff_user=staff)
    ledger_adjust(client=client, amount=Decimal("1"), reason="goodwill", staff_user=staff)

    assert balance_of(client) == Decimal("-1.5000")


@pytest.mark.parametrize(
    "book, amount, reason, message",
    [
        (ledger_topup, "0", "x", "positive"),
        (ledger_topup, "-5", "x", "positive"),
        (ledger_adjust, "0", "x", "zero"),
        (ledger_topup, "5", "  ", "reason"),
    ],
)
def test_a_senseless_booking_is_refused(staff, book, amount, reason, message):
    client = factories.ClientFactory()

    with pytest.raises(BookingRefused, match=message):
        book(client=client, amount=Decimal(amount), reason=reason, staff_user=staff)

    assert not LedgerEntry.objects.exists()


def test_a_charged_call_is_refunded_once_by_a_reversing_row(api, caller, sandbox_only, staff):
    # given a charged call
    api.post(LATEST, "{}", content_type="application/json", headers=caller.headers)
    call = LedgerEntry.objects.get()

    # when finance refunds it
    refund = ledger_reverse(entry=call, reason="provider sent stale rates", staff_user=staff)

    # then the call's row is untouched, the refund names it, the money is back
    assert (refund.kind, refund.amount, refund.reverses) == ("refund", Decimal("0.0100"), call)
    assert (refund.service, refund.method) == ("currency", "latest_rates")
    assert LedgerEntry.objects.get(pk=call.pk).amount == Decimal("-0.0100")
    assert balance_of(caller.client) == Decimal("0")
    # and it cannot be refunded twice, nor the refund reversed in turn
    with pytest.raises(BookingRefused, match="already been reversed"):
        ledger_reverse(entry=call, reason="again", staff_user=staff)
    with pytest.raises(BookingRefused, match="itself a reversal"):
        ledger_reverse(entry=refund, reason="undo", staff_user=staff)


def test_a_row_that_moved_no_money_has_nothing_to_reverse(staff):
    client = factories.ClientFactory()
    rejected = ledger_entry(client, status="rejected", price=Decimal("0"), amount=Decimal("0"))

    with pytest.raises(BookingRefused, match="nothing to reverse"):
        ledger_reverse(entry=rejected, reason="x", staff_user=staff)


def test_after_a_mixed_run_every_balance_is_the_sum_of_its_rows(
    api, caller, fixer, staff, settings
):
    # given a plan with one free call a month that charges failed calls, and a second client
    Price.objects.filter(plan=caller.client.plan, method__slug="latest_rates").update(free_calls=1)
    plan = caller.client.plan
    plan.charge_failed_calls = True
    plan.save()
    globex = factories.ClientFactory(slug="globex", plan=plan, credit_limit=Decimal("0"))
    globex_headers = {"Authorization": f"Api-Key {factories.api_key_for(globex)}"}

    def call(headers, **extra):
        return api.post(LATEST, json.dumps({"base": "EUR"}), "application/json", headers=headers)

    # when calls succeed, fail (charged), are free, refused for credit or for their payload,
    # and finance books a top-up, an adjustment and a refund
    statuses = [call(caller.headers).status_code for _ in range(3)]
    fixer.respond(status_code=500)
    statuses.append(call(caller.headers).status_code)
    fixer.respond(json=FIXER_LATEST)
    statuses.append(call(globex_headers).status_code)  # globex's free call
    statuses.append(call(globex_headers).status_code)  # no credit
    statuses.append(
        api.post(LATEST, "[]", content_type="application/json", headers=caller.headers).status_code
    )
    ledger_topup(client=globex, amount=Decimal("1"), reason="card", staff_user=staff)
    statuses.append(call(globex_headers).status_code)
    ledger_adjust(client=caller.client, amount=Decimal("-0.5"), reason="setup", staff_user=staff)
    refunded = LedgerEntry.objects.filter(client=caller.client, status="failed").get()
    ledger_reverse(entry=refunded, reason="our outage", staff_user=staff)

    # then
    assert statuses == [200, 200, 200, 502, 200, 402, 400, 200]
    assert ledger_balance_differences() == []
    for client in (caller.client, globex):
        total = LedgerEntry.objects.filter(client=client).aggregate(total=Sum("amount"))["total"]
        assert balance_of(client) == total
    assert balance_of(caller.client) == Decimal("-0.5200")  # 2 charged calls, -0.5
    assert balance_of(globex) == Decimal("0.9900")
    assert Client.objects.get(pk=caller.client.pk).held == Decimal("0")


# --- the admin --------------------------------------------------------------------------------


def test_staff_book_a_top_up_from_the_client_page(admin_client: HttpClient):
    # given
    client = factories.ClientFactory()
    page = admin_client.get(reverse("admin:accounts_client_change", args=[client.pk]))
    url = reverse("admin:accounts_client_book", args=[client.pk])
    assert url in page.content.decode()

    # when
    form = admin_client.get(url)
    response = admin_client.post(
        url, {"kind": "topup", "amount": "25.00", "reason": "wire ref 4471"}, follow=True
    )

    # then
    assert form.status_code == 200
    assert response.redirect_chain[-1][0] == reverse(
        "admin:accounts_client_change", args=[client.pk]
    )
    entry = LedgerEntry.objects.get(client=client)
    assert (entry.kind, entry.amount, entry.reason) == (
        "topup",
        Decimal("25.0000"),
        "wire ref 4471",
    )
    assert entry.created_by.username == "admin"
    assert balance_of(client) == Decimal("25.0000")
    assert "the balance is now 25.0000" in response.content.decode()


def test_a_booking_without_a_reason_is_not_made(admin_client: HttpClient):
    client = factories.ClientFactory()
    url = reverse("admin:accounts_client_book", args=[client.pk])

    response = admin_client.post(url, {"kind": "adjustment", "amount": "-3", "reason": ""})

    assert response.status_code == 200
    assert not LedgerEntry.objects.exists()


def test_booking_needs_the_book_permission(client: HttpClient, staff):
    # given a staff user who may change clients but not book money
    staff.user_permissions.add(Permission.objects.get(codename="change_client"))
    client.force_login(staff)
    customer = factories.ClientFactory()
    url = reverse("admin:accounts_client_book", args=[customer.pk])

    # when
    refused = client.post(url, {"kind": "topup", "amount": "5", "reason": "x"})
    staff.user_permissions.add(Permission.objects.get(codename="book_ledgerentry"))
    allowed = client.post(url, {"kind": "topup", "amount": "5", "reason": "x"})

    # then
    assert refused.status_code == 403
    assert allowed.status_code == 302
    assert balance_of(customer) == Decimal("5.0000")


def test_staff_refund_a_call_from_its_ledger_page(
    admin_client: HttpClient, api, caller, sandbox_only
):
    # given a charged call
    api.post(LATEST, "{}", content_type="application/json", headers=caller.headers)
    call = LedgerEntry.objects.get()
    page = admin_client.get(reverse("admin:ledger_ledgerentry_change", args=[call.pk]))
    url = reverse("admin:ledger_ledgerentry_reverse", args=[call.pk])
    assert "Refund this call" in page.content.decode()

    # when
    response = admin_client.post(url, {"reason": "duplicate order"}, follow=True)

    # then
    refund = LedgerEntry.objects.get(reverses=call)
    assert (refund.kind, refund.amount, refund.reason) == (
        "refund",
        Decimal("0.0100"),
        "duplicate order",
    )
    assert response.redirect_chain[-1][0] == reverse(
        "admin:ledger_ledgerentry_change", args=[refund.pk]
    )
    assert balance_of(caller.client) == Decimal("0")
    again = admin_client.get(reverse("admin:ledger_ledgerentry_change", args=[call.pk]))
    assert refund.request_id in again.content.decode()
