"""The plan admin: plans and their per-method prices."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.billing.models import Plan, Price
from apps.catalog.models import Method
from tests import factories
from tests.catalog.test_admin import admin_form_data

pytestmark = pytest.mark.django_db


def test_plan_pages_render(admin_client: HttpClient) -> None:
    # given
    plan = factories.PlanFactory(slug="gold")
    factories.PriceFactory(plan=plan, method=factories.method("currency.convert"))
    factories.ClientFactory(plan=plan)

    # when
    listing = admin_client.get(reverse("admin:billing_plan_changelist"))
    detail = admin_client.get(reverse("admin:billing_plan_change", args=[plan.pk]))
    add = admin_client.get(reverse("admin:billing_plan_add"))

    # then
    assert (listing.status_code, detail.status_code, add.status_code) == (200, 200, 200)
    row = next(p for p in listing.context["cl"].result_list if p.pk == plan.pk)
    assert (row._prices, row._clients) == (1, 1)
    assert "currency.convert" in detail.content.decode()


def test_plan_prices_are_edited_inline(admin_client: HttpClient) -> None:
    # given
    plan = factories.PlanFactory(slug="silver")
    price = factories.PriceFactory(plan=plan, method=factories.method("currency.convert"))
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    data = admin_form_data(admin_client.get(url))
    data["prices-0-price"] = "0.0250"
    data["prices-1-method"] = factories.method("currency.latest_rates").pk
    data["prices-1-price"] = "0.0050"
    data["charge_failed_calls"] = "on"

    # when
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302
    price.refresh_from_db()
    assert price.price == Decimal("0.0250")
    assert Price.objects.filter(plan=plan).count() == 2
    assert Plan.objects.get(pk=plan.pk).charge_failed_calls is True


def test_plan_page_labels_methods_without_a_query_per_option(admin_client: HttpClient) -> None:
    # given
    plan = factories.PlanFactory(slug="bronze")
    for key in ("currency.convert", "currency.latest_rates"):
        factories.PriceFactory(plan=plan, method=factories.method(key))
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    with CaptureQueriesContext(connection) as few_methods:
        admin_client.get(url)
    service = factories.method("currency.convert").service
    for n in range(10):
        Method.objects.create(service=service, slug=f"extra-{n}", name=f"Extra {n}")

    # when
    with CaptureQueriesContext(connection) as many_methods:
        response = admin_client.get(url)

    # then
    assert response.status_code == 200
    assert "currency.extra-9" in response.content.decode()
    assert len(many_methods) == len(few_methods)
