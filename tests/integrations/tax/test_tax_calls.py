"""tax.* end to end: the endpoint, routing by ship-to country, failover, the ledger."""

from decimal import Decimal

import jsonschema
import pytest
import respx

from apps.ledger.models import LedgerEntry
from tests.integrations.tax.conftest import (
    AVATAX_URL,
    BERLIN,
    IRVINE,
    SALE,
    SEATTLE,
    TAXJAR_URL,
    TOKYO,
    TORONTO,
    sale,
)
from tests.integrations.tax.vendor_answers import (
    AVATAX_RATES_BY_ADDRESS,
    AVATAX_TRANSACTION,
    TAXJAR_TAX_CA,
    TAXJAR_TAX_US,
    avatax_error,
)
from tests.support.calls import Caller, configure, only_providers, paying_client, post

ADDRESS = "/api/v1/services/tax/taxes_for_address/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db) -> Caller:
    """A client whose plan prices both tax methods."""
    return paying_client(("tax.taxes_for_sale", "0.0200"), ("tax.taxes_for_address", "0.0050"))


@pytest.fixture
def avatax_then_taxjar(db):
    only_providers("avatax", "taxjar")
    configure(
        "avatax",
        base_url=AVATAX_URL,
        credentials={"account_id": "1100012345", "license_key": "key"},
        priority=1,
        cost="0.0100",
    )
    configure(
        "taxjar", base_url=TAXJAR_URL, credentials={"api_token": "tj"}, priority=2, cost="0.0080"
    )


@pytest.fixture
def vendors():
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.post(f"{AVATAX_URL}/api/v2/transactions/create", name="avatax").respond(
            201, json=AVATAX_TRANSACTION
        )
        router.post(f"{TAXJAR_URL}/v2/taxes", name="taxjar").respond(200, json=TAXJAR_TAX_CA)
        yield router


def test_a_us_sale_is_taxed_by_avatax_and_recorded(api, shop, avatax_then_taxjar, vendors):
    # when
    response = post(api, SALE, sale(SEATTLE), shop)

    # then
    assert response.status_code == 200, response.content
    assert (response["X-Provider"], response["X-Price"]) == ("avatax", "0.0200")
    data = response.json()["data"]
    assert data["total_tax"] == "10.25"
    assert data["lines"][0]["taxes"][0]["rate"] == "0.065"
    assert not vendors["taxjar"].called
    entry = LedgerEntry.objects.get()
    assert (entry.service, entry.method, entry.provider, entry.status) == (
        "tax",
        "taxes_for_sale",
        "avatax",
        "succeeded",
    )
    assert (entry.price, entry.cost) == (Decimal("0.0200"), Decimal("0.0100"))
    assert entry.routing["route_country"] == "US"
    assert entry.routing["candidates"] == ["avatax", "taxjar"]


def test_a_canadian_sale_goes_to_taxjar_which_serves_canada(api, shop, avatax_then_taxjar, vendors):
    response = post(api, SALE, sale(TORONTO), shop)

    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "taxjar"
    assert response.json()["data"]["total_tax"] == "13.00"
    assert not vendors["avatax"].called
    entry = LedgerEntry.objects.get()
    assert (entry.provider, entry.cost, entry.routing["candidates"]) == (
        "taxjar",
        Decimal("0.0080"),
        ["taxjar"],
    )


def test_avatax_down_fails_over_to_taxjar(api, shop, avatax_then_taxjar, vendors):
    # given
    vendors["avatax"].respond(503, text="Service Unavailable")
    vendors["taxjar"].respond(200, json=TAXJAR_TAX_US)

    # when
    response = post(api, SALE, sale(SEATTLE), shop)

    # then
    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "taxjar"
    assert response.json()["data"]["total_tax"] == "9.50"
    entry = LedgerEntry.objects.get()
    assert [(a["provider"], a["outcome"]) for a in entry.attempts] == [
        ("avatax", "http_error"),
        ("taxjar", "ok"),
    ]


def test_an_address_avatax_refuses_is_422_without_failover(api, shop, avatax_then_taxjar, vendors):
    vendors["avatax"].respond(
        400,
        json=avatax_error(
            "InvalidAddress",
            "The address value was incomplete.",
            target="IncorrectData",
            refers_to="Addresses.ShipTo",
        ),
    )

    response = post(api, SALE, sale(SEATTLE), shop)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["ship_to_address"]
    assert not vendors["taxjar"].called
    assert LedgerEntry.objects.get().price == Decimal("0")


@pytest.mark.parametrize("destination", [TOKYO, BERLIN])
def test_a_country_no_enabled_provider_serves_is_503_naming_it(
    api, shop, avatax_then_taxjar, vendors, destination
):
    only_providers("avatax")  # TaxJar serves Germany, but it is off

    response = post(api, SALE, sale(destination), shop)

    assert response.status_code == 503
    assert destination["country"] in response.json()["detail"]
    assert not vendors["avatax"].called
    assert LedgerEntry.objects.get().price == Decimal("0")


def test_rates_for_an_address_are_served_by_a_provider_of_its_country(
    api, shop, avatax_then_taxjar, vendors
):
    route = vendors.get(f"{AVATAX_URL}/api/v2/taxrates/byaddress").respond(
        200, json=AVATAX_RATES_BY_ADDRESS
    )

    response = post(api, ADDRESS, {"address": IRVINE}, shop)

    assert response.status_code == 200, response.content
    assert (response["X-Provider"], response["X-Price"]) == ("avatax", "0.0050")
    assert response.json()["data"]["total_rate"] == "0.1025"
    assert route.calls.last.request.url.params["postalCode"] == "92618"
    assert LedgerEntry.objects.get().method == "taxes_for_address"


def _line(**changes):
    return {"line_number": 1, "quantity": 1, "amount_total": "10.00", **changes}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [_line(quantity=0)]}, "lines.0.quantity"),
        ({"lines": [_line(line_number=0)]}, "lines.0.line_number"),
        ({"lines": [_line(), _line()]}, "lines.1.line_number"),
        ({"lines": [_line(amount_total=12.5)]}, None),  # a JSON number is fine: exact
        ({"lines": [_line(amount_total="ten")]}, "lines.0.amount_total"),
        ({"lines": [_line(amount_total="-1.00")]}, "lines.0.amount_total"),
        ({"lines": [_line(tax_code="x" * 26)]}, "lines.0.tax_code"),
        ({"lines": [_line(item_code="x" * 51)]}, "lines.0.item_code"),
        ({"lines": [_line(description="x" * 257)]}, "lines.0.description"),
        ({"lines": [_line(colour="red")]}, "lines.0.colour"),
        ({"lines": []}, "lines"),
        ({"customer_id": "x" * 51}, "customer_id"),
        ({"date": "29/11/2026"}, "date"),
        ({"currency": "usd"}, "currency"),
        ({"amount": "99.00"}, "amount"),
        ({"ship_to_address": {**SEATTLE, "country": "UK"}}, "ship_to_address.country"),
        ({"ship_to_address": {**SEATTLE, "country": "USA"}}, "ship_to_address.country"),
        ({"ship_to_address": {**SEATTLE, "region": ""}}, "ship_to_address.region"),
        ({"ship_from_address": {**IRVINE, "postcode": "1"}}, "ship_from_address.postcode"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, shop, avatax_then_taxjar, vendors, change, field):
    response = post(api, SALE, sale(SEATTLE, **change), shop)

    if field is None:
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert not vendors["avatax"].called


def test_a_uk_hint_points_to_gb(api, shop, avatax_then_taxjar):
    response = post(api, ADDRESS, {"address": {**BERLIN, "country": "UK"}}, shop)

    assert response.status_code == 400
    assert "GB" in response.json()["errors"]["address.country"][0]


def test_the_sandbox_taxes_any_country_offline(api, shop):
    only_providers("tax-sandbox")
    configure("tax-sandbox", base_url="sandbox://tax", credentials={}, cost="0.0000")

    response = post(api, SALE, sale(TOKYO), shop)

    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "tax-sandbox"
    data = response.json()["data"]
    assert data["total_tax"] == "20.00"
    assert data["lines"][0]["taxes"][0]["tax_type"] == "VAT"


def test_the_meta_schema_describes_both_methods(api, shop, avatax_then_taxjar, vendors):
    # given a sale and an answer as this service documents them
    quote = post(api, SALE, sale(SEATTLE), shop).json()["data"]

    # when
    services = api.get("/api/v1/services/", headers=shop.headers).json()

    # then
    tax = {m["name"]: m for m in {s["slug"]: s for s in services}["tax"]["methods"]}
    assert set(tax) == {"taxes_for_sale", "taxes_for_address"}
    for_sale = tax["taxes_for_sale"]
    jsonschema.validate(sale(SEATTLE), for_sale["request_schema"])
    jsonschema.validate(quote, for_sale["response_schema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sale(SEATTLE, lines=[_line(quantity=0)]), for_sale["request_schema"])
