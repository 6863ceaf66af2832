"""The plan admin: plans and their per-method prices."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.billing.models import CountryPrice, Plan, PlanRateLimit, Price
from apps.catalog.models import Method
from tests import factories
from tests.support.admin import admin_form_data

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


def test_plan_rate_limits_and_free_calls_are_edited_inline(admin_client: HttpClient) -> None:
    # given
    plan = factories.PlanFactory(slug="metered")
    factories.PriceFactory(plan=plan, method=factories.method("currency.convert"))
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    data = admin_form_data(admin_client.get(url))
    data["prices-0-free_calls"] = "500"
    data["rate_limits-0-scope"] = "currency"
    data["rate_limits-0-limit"] = "100"
    data["rate_limits-0-window"] = "minute"
    data["rate_limits-TOTAL_FORMS"] = "1"

    # when
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302
    assert Price.objects.get(plan=plan).free_calls == 500
    limit = PlanRateLimit.objects.get(plan=plan)
    assert (limit.scope, limit.limit, limit.window) == ("currency", 100, "minute")


def test_a_rate_limit_on_an_unknown_scope_is_refused(admin_client: HttpClient) -> None:
    plan = factories.PlanFactory(slug="typo")
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    data = admin_form_data(admin_client.get(url))
    data.update(
        {
            "rate_limits-0-scope": "currencies",
            "rate_limits-0-limit": "100",
            "rate_limits-0-window": "minute",
            "rate_limits-TOTAL_FORMS": "1",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "is not &#x27;total&#x27;, a service" in response.content.decode()
    assert not PlanRateLimit.objects.exists()


def test_country_prices_are_edited_on_the_price_page(admin_client: HttpClient) -> None:
    # given a plan's price, reached from the plan's page
    plan = factories.PlanFactory(slug="euro")
    price = factories.PriceFactory(plan=plan, method=factories.method("currency.latest_rates"))
    plan_page = admin_client.get(reverse("admin:billing_plan_change", args=[plan.pk]))
    url = reverse("admin:billing_price_change", args=[price.pk])
    assert url in plan_page.content.decode()
    data = admin_form_data(admin_client.get(url))
    data.update({"country_prices-0-country": "DE", "country_prices-0-price": "0.0080"})

    # when
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302
    assert [(c.country, c.price) for c in CountryPrice.objects.filter(base=price)] == [
        ("DE", Decimal("0.0080"))
    ]
