"""The TaxJar adapter against TaxJar API v2's documented answers (respx)."""

import json

import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.tax.providers.taxjar import TaxJar
from tests.integrations.tax.conftest import BERLIN, IRVINE, TORONTO, VANCOUVER, sale
from tests.integrations.tax.vendor_answers import (
    TAXJAR_CATEGORIES,
    TAXJAR_RATE_CA,
    TAXJAR_RATE_EU,
    TAXJAR_RATE_US,
    TAXJAR_TAX_CA,
    TAXJAR_TAX_NO_NEXUS,
    TAXJAR_TAX_US,
    taxjar_error,
)

TAXES = "https://api.taxjar.com/v2/taxes"
LOS_ANGELES = {
    "line1": "1335 E 103rd St",
    "city": "Los Angeles",
    "region": "CA",
    "postal_code": "90002",
    "country": "US",
}


@pytest.fixture
def taxjar(adapter):
    return adapter(TaxJar, api_token="9e0cd62a22f451701f29c3bde214")


async def test_a_sale_is_posted_as_an_order_with_unit_prices(respx_mock, taxjar, call):
    # given
    route = respx_mock.post(TAXES).respond(200, json=TAXJAR_TAX_US)
    lines = [
        {"line_number": 1, "quantity": 2, "amount_total": "100.00", "tax_code": "20010"},
        {"line_number": 7, "quantity": 3, "amount_total": "10.00"},
    ]

    # when
    answer = await call(taxjar, "taxes_for_sale", sale(LOS_ANGELES, lines=lines))

    # then
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer 9e0cd62a22f451701f29c3bde214"
    assert b'"unit_price":3.333333' in sent.content  # 10.00 / 3, a JSON number
    assert json.loads(sent.content) == {
        "from_country": "US",
        "from_zip": "92618",
        "from_state": "CA",
        "from_city": "Irvine",
        "from_street": "100 Spectrum Center Dr Suite 900",
        "to_country": "US",
        "to_zip": "90002",
        "to_state": "CA",
        "to_city": "Los Angeles",
        "to_street": "1335 E 103rd St",
        "amount": 110.0,
        "shipping": 0,
        "customer_id": "CUST-42",
        "line_items": [
            {
                "id": "1",
                "quantity": 2,
                "unit_price": 50.0,
                "discount": 0,
                "product_tax_code": "20010",
            },
            {"id": "7", "quantity": 3, "unit_price": 3.333333, "discount": 0},
        ],
    }
    assert answer["total_tax"] == "9.50"
    first, seventh = answer["lines"]
    assert (first["line_number"], first["tax"]) == (1, "9.50")
    assert first["taxes"] == [
        {
            "rate": "0.0625",
            "tax": "6.25",
            "tax_name": "CA STATE TAX",
            "country": "US",
            "region": "CA",
            "tax_type": "Sales",
            "jurisdiction": "CA",
            "jurisdiction_type": "state",
        },
        {
            "rate": "0.01",
            "tax": "1.00",
            "tax_name": "LOS ANGELES COUNTY TAX",
            "country": "US",
            "region": "CA",
            "tax_type": "Sales",
            "jurisdiction": "LOS ANGELES",
            "jurisdiction_type": "county",
        },
        {
            "rate": "0.0225",
            "tax": "2.25",
            "tax_name": "CA SPECIAL TAX",
            "country": "US",
            "region": "CA",
            "tax_type": "Sales",
            "jurisdiction": "CA",
            "jurisdiction_type": "special",
        },
    ]
    # TaxJar left line 7 out of its breakdown: no tax on it
    assert seventh == {"line_number": 7, "tax": "0.00", "taxes": []}


async def test_a_canadian_sale_has_gst_and_pst(respx_mock, taxjar, call):
    respx_mock.post(TAXES).respond(200, json=TAXJAR_TAX_CA)

    answer = await call(taxjar, "taxes_for_sale", sale(TORONTO, ship_from=VANCOUVER))

    assert answer["total_tax"] == "13.00"
    assert [
        (t["tax_name"], t["tax_type"], t["rate"], t["tax"], t["jurisdiction_type"])
        for t in answer["lines"][0]["taxes"]
    ] == [("CA GST", "GST", "0.05", "5.00", "country"), ("ON PST", "PST", "0.08", "8.00", "state")]


async def test_without_nexus_there_is_nothing_to_collect(respx_mock, taxjar, call):
    respx_mock.post(TAXES).respond(200, json=TAXJAR_TAX_NO_NEXUS)

    answer = await call(taxjar, "taxes_for_sale", sale(LOS_ANGELES))

    assert answer["total_tax"] == "0.00"
    assert answer["lines"] == [{"line_number": 1, "tax": "0.00", "taxes": []}]


async def test_rates_for_a_us_address_per_jurisdiction(respx_mock, taxjar, call):
    route = respx_mock.get("https://api.taxjar.com/v2/rates/92618").respond(
        200, json=TAXJAR_RATE_US
    )

    answer = await call(taxjar, "taxes_for_address", {"address": IRVINE})

    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer 9e0cd62a22f451701f29c3bde214"
    assert dict(sent.url.params) == {
        "country": "US",
        "state": "CA",
        "city": "Irvine",
        "street": "100 Spectrum Center Dr Suite 900",
    }
    assert answer == {
        "total_rate": "0.0975",
        "rates": [
            {"rate": "0.0625", "jurisdiction": "CA", "jurisdiction_type": "state"},
            {"rate": "0.01", "jurisdiction": "LOS ANGELES", "jurisdiction_type": "county"},
            {"rate": "0.025", "jurisdiction": "", "jurisdiction_type": "special"},
        ],
    }


@pytest.mark.parametrize(
    ("address", "zip_path", "body", "expected"),
    [
        (VANCOUVER, "V6G%203E2", TAXJAR_RATE_CA, {"total_rate": "0.12", "rates": []}),
        (
            BERLIN,
            "10117",
            TAXJAR_RATE_EU,
            {
                "total_rate": "0.24",
                "rates": [{"rate": "0.24", "jurisdiction": "FI", "jurisdiction_type": "country"}],
            },
        ),
    ],
)
async def test_rates_elsewhere_are_combined_or_the_countrys(
    respx_mock, taxjar, call, address, zip_path, body, expected
):
    respx_mock.get(f"https://api.taxjar.com/v2/rates/{zip_path}").respond(200, json=body)

    assert await call(taxjar, "taxes_for_address", {"address": address}) == expected


@pytest.mark.parametrize("status", [400, 404, 406, 422])
async def test_input_errors_name_the_address(respx_mock, taxjar, call, status):
    detail = "to_zip 90002 is not used within to_state NY"
    respx_mock.post(TAXES).respond(status, json=taxjar_error(status, "Bad Request", detail))

    with pytest.raises(InvalidInput) as raised:
        await call(taxjar, "taxes_for_sale", sale(LOS_ANGELES))

    assert raised.value.errors == {"ship_to_address": [detail]}


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (401, "Unauthorized", OUTCOME_AUTH),
        (403, "Forbidden", OUTCOME_AUTH),
        (429, "Too Many Requests", OUTCOME_QUOTA),
        (500, "Internal Server Error", OUTCOME_HTTP_ERROR),
        (503, "Service Unavailable", OUTCOME_HTTP_ERROR),
        (410, "Gone", OUTCOME_HTTP_ERROR),
    ],
)
async def test_account_and_service_trouble_is_a_fault(
    respx_mock, taxjar, call, status, error, outcome
):
    respx_mock.post(TAXES).respond(status, json=taxjar_error(status, error, "Not this time."))

    with pytest.raises(ProviderFault) as raised:
        await call(taxjar, "taxes_for_sale", sale(LOS_ANGELES))

    assert raised.value.outcome == outcome
    assert "9e0cd62a22f451701f29c3bde214" not in raised.value.detail


async def test_the_probe_lists_categories(respx_mock, taxjar):
    route = respx_mock.get("https://api.taxjar.com/v2/categories").respond(
        200, json=TAXJAR_CATEGORIES
    )

    await taxjar.probe()

    assert route.calls.last.request.headers["Authorization"].startswith("Bearer ")


async def test_a_refused_token_is_unhealthy(respx_mock, taxjar):
    respx_mock.get("https://api.taxjar.com/v2/categories").respond(
        401, json=taxjar_error(401, "Unauthorized", "Not authorized for route 'GET /v2/categories'")
    )

    with pytest.raises(ProviderFault) as raised:
        await taxjar.probe()

    assert raised.value.outcome == OUTCOME_AUTH
