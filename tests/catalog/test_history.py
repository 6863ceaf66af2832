"""Audit: every change to providers, offerings, routing, plans and prices is kept with who,
when, and the old and new values, and shown in the admin; never a secret."""

from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from apps.billing.models import Price
from apps.catalog.models import Offering, Provider
from tests import factories
from tests.factories import call_row, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(api: HttpClient) -> HttpClient:
    api.force_login(staff_user("olivia", "ops"))
    return api


def test_an_admin_change_leaves_who_when_and_both_values(ops):
    # given
    offering = factories.OfferingFactory(
        method=factories.method("currency.convert"), priority=10, cost=Decimal("0.0010")
    )

    # when
    ops.post(
        reverse("admin:catalog_offering_change", args=[offering.pk]),
        {
            "enabled": "on",
            "priority": 3,
            "weight": 1,
            "cost": "0.0020",
            "country_costs-TOTAL_FORMS": 0,
            "country_costs-INITIAL_FORMS": 0,
        },
    )

    # then
    latest, before = offering.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_user.username == "olivia"
    changes = {c.field: (c.old, c.new) for c in latest.diff_against(before).changes}
    assert changes["priority"] == (10, 3)
    assert changes["cost"] == (Decimal("0.0010"), Decimal("0.0020"))
    page = ops.get(reverse("admin:catalog_offering_history", args=[offering.pk]))
    assert page.status_code == 200
    assert b"olivia" in page.content


def test_bulk_disabling_leaves_a_history_row_per_offering(ops):
    # given
    offerings = [
        factories.OfferingFactory(method=factories.method("currency.convert")) for _ in range(2)
    ]

    # when
    ops.post(
        reverse("admin:catalog_offering_changelist"),
        {"action": "disable_offerings", "_selected_action": [o.pk for o in offerings]},
    )

    # then
    for offering in offerings:
        latest = offering.history.order_by("-history_id").first()
        assert (latest.enabled, latest.history_user.username) == (False, "olivia")
    assert not Offering.objects.filter(pk__in=[o.pk for o in offerings], enabled=True).exists()


def test_provider_history_never_holds_credentials():
    # given
    provider = Provider.objects.get(slug="fixer")

    # when
    provider.credentials = {"access_key": "kept-out-of-history"}
    provider.save()

    # then
    history_fields = {f.name for f in provider.history.model._meta.fields}
    assert "credentials" not in history_fields
    assert provider.history.count() >= 1


def test_a_price_change_is_kept_and_the_ledger_keeps_the_old_price(api):
    # given a call charged at the plan's price
    plan = factories.PlanFactory(slug="audited")
    price = factories.PriceFactory(
        plan=plan, method=factories.method("currency.convert"), price=Decimal("0.0100")
    )
    row = call_row(factories.ClientFactory(plan=plan), timezone.now(), price=price.price)

    # when the price goes up
    price.price = Decimal("0.0200")
    price.save()

    # then
    assert [h.price for h in Price.history.filter(id=price.pk).order_by("history_id")] == [
        Decimal("0.0100"),
        Decimal("0.0200"),
    ]
    row.refresh_from_db()
    assert row.price == Decimal("0.0100")


def test_ops_set_a_negotiated_price_and_the_history_says_who(ops):
    from apps.billing.models import ClientPrice

    # given a client on a plan (ops may not change the client itself)
    client = factories.ClientFactory(slug="bigco")
    convert = factories.method("currency.convert")

    # when ops give it a negotiated price on the negotiated prices page
    response = ops.post(
        reverse("admin:billing_clientprice_add"),
        {"client": client.pk, "method": convert.pk, "price": "0.0030"},
    )

    # then it is stored, and the audit history names ops
    assert response.status_code == 302, response.content[:500]
    deal = ClientPrice.objects.get(client=client, method=convert)
    assert deal.price == Decimal("0.0030")
    assert deal.history.get().history_user.username == "olivia"
    assert ops.get(reverse("admin:billing_clientprice_changelist")).status_code == 200
    assert ops.get(reverse("admin:billing_clientratelimit_changelist")).status_code == 200


def test_draining_a_provider_leaves_a_history_row_naming_who(ops):
    from apps.routing import breakers
    from apps.routing.services import offering_breaker_force

    # given
    offering = factories.OfferingFactory(method=factories.method("currency.convert"))

    # when ops drain it (the service the admin's drain action calls), signed in as olivia
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from simple_history.models import HistoricalRecords

    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="olivia")
    HistoricalRecords.context.request = request
    try:
        assert offering_breaker_force(offering_ids=[offering.pk], mode=breakers.FORCE_OPEN) == 1
    finally:
        del HistoricalRecords.context.request

    # then
    latest = offering.history.order_by("-history_date", "-history_id").first()
    assert latest.breaker_forced == breakers.FORCE_OPEN
    assert latest.history_user.username == "olivia"
