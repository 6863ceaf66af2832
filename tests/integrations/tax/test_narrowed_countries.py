"""tax.* when ops narrow the countries TaxJar serves: routing follows at once, through the API."""

from decimal import Decimal

import pytest
import respx
from django.test import Client as HttpClient

from apps.catalog.models import Provider
from apps.ledger.models import LedgerEntry
from tests.integrations.tax.conftest import AVATAX_URL, SALE, SEATTLE, TAXJAR_URL, TORONTO, sale
from tests.integrations.tax.vendor_answers import (
    AVATAX_TRANSACTION,
    TAXJAR_TAX_CA,
    TAXJAR_TAX_US,
)
from tests.support.admin import change_url, provider_form_data
from tests.support.calls import Caller, configure, only_providers, paying_client, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db) -> Caller:
    return paying_client(("tax.taxes_for_sale", "0.0200"))


@pytest.fixture
def taxjar_then_avatax(db) -> Provider:
    """TaxJar preferred, so a US sale reaching AvaTax shows the narrowing, not the priority."""
    only_providers("avatax", "taxjar")
    configure(
        "avatax",
        base_url=AVATAX_URL,
        credentials={"account_id": "1100012345", "license_key": "key"},
        priority=2,
    )
    return configure("taxjar", base_url=TAXJAR_URL, credentials={"api_token": "tj"}, priority=1)


@pytest.fixture
def vendors():
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.post(f"{AVATAX_URL}/api/v2/transactions/create", name="avatax").respond(
            201, json=AVATAX_TRANSACTION
        )
        router.post(f"{TAXJAR_URL}/v2/taxes", name="taxjar").respond(200, json=TAXJAR_TAX_US)
        yield router


def narrow(provider: Provider, *countries: str) -> None:
    provider.countries = list(countries)
    provider.full_clean()
    provider.save()  # the post_save signal drops the cached snapshot


def test_a_us_sale_skips_taxjar_narrowed_to_canada(api, shop, taxjar_then_avatax, vendors):
    # given
    narrow(taxjar_then_avatax, "CA")

    # when
    response = post(api, SALE, sale(SEATTLE), shop)

    # then
    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "avatax"
    assert not vendors["taxjar"].called
    entry = LedgerEntry.objects.get()
    assert (entry.provider, entry.routing["route_country"]) == ("avatax", "US")
    assert entry.routing["candidates"] == ["avatax"]


def test_a_canadian_sale_still_goes_to_taxjar_narrowed_to_canada(
    api, shop, taxjar_then_avatax, vendors
):
    narrow(taxjar_then_avatax, "CA")
    vendors["taxjar"].respond(200, json=TAXJAR_TAX_CA)

    response = post(api, SALE, sale(TORONTO), shop)

    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "taxjar"


def test_with_avatax_down_a_us_sale_is_503_naming_us(api, shop, taxjar_then_avatax, vendors):
    # given: TaxJar would serve the US, but ops narrowed it to Canada
    narrow(taxjar_then_avatax, "CA")
    only_providers("taxjar")

    # when
    response = post(api, SALE, sale(SEATTLE), shop)

    # then
    assert response.status_code == 503
    assert response.json()["detail"] == "No enabled provider of tax.taxes_for_sale serves US."
    assert not vendors["taxjar"].called
    assert LedgerEntry.objects.get().price == Decimal("0")


def test_an_admin_change_reroutes_the_next_call(
    api, admin_client: HttpClient, shop, taxjar_then_avatax, vendors
):
    # given: TaxJar, first by priority, taxes a US sale
    assert post(api, SALE, sale(SEATTLE), shop)["X-Provider"] == "taxjar"
    taxjar = Provider.objects.get(slug="taxjar")

    # when: ops narrow it to Canada in the admin
    saved = admin_client.post(change_url(taxjar), provider_form_data(taxjar, countries="CA"))

    # then: the very next US sale goes to AvaTax
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert post(api, SALE, sale(SEATTLE), shop)["X-Provider"] == "avatax"
    assert vendors["taxjar"].call_count == 1
