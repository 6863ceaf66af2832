"""The AvaTax adapter against AvaTax REST v2's documented answers (respx)."""

import base64
import json

import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.tax.providers.avatax import AvaTax
from tests.integrations.tax.conftest import IRVINE, SEATTLE, sale
from tests.integrations.tax.vendor_answers import (
    AVATAX_PING,
    AVATAX_RATES_BY_ADDRESS,
    AVATAX_TRANSACTION,
    avatax_error,
)

CREATE = "https://rest.avatax.com/api/v2/transactions/create"
BY_ADDRESS = "https://rest.avatax.com/api/v2/taxrates/byaddress"
PING = "https://rest.avatax.com/api/v2/utilities/ping"
BASIC = "Basic " + base64.b64encode(b"1100012345:LICENSE-KEY").decode()


@pytest.fixture
def avatax(adapter):
    return adapter(AvaTax, account_id="1100012345", license_key="LICENSE-KEY")


async def test_a_sale_is_created_as_an_uncommitted_sales_order(respx_mock, avatax, call):
    # given
    route = respx_mock.post(CREATE).respond(201, json=AVATAX_TRANSACTION)

    # when
    answer = await call(avatax, "taxes_for_sale", sale(SEATTLE, sale_id="SO-1"))

    # then
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == BASIC
    assert sent.headers["Content-Type"] == "application/json"
    assert b'"amount":100.0000' in sent.content  # a JSON number from the Decimal's digits
    assert json.loads(sent.content) == {
        "type": "SalesOrder",
        "code": "SO-1",
        "date": "2026-11-29",
        "customerCode": "CUST-42",
        "currencyCode": "USD",
        "commit": False,
        "addresses": {
            "shipFrom": {
                "line1": "100 Spectrum Center Dr",
                "line2": "Suite 900",
                "city": "Irvine",
                "region": "CA",
                "postalCode": "92618",
                "country": "US",
            },
            "shipTo": {
                "line1": "400 Broad St",
                "line2": None,
                "city": "Seattle",
                "region": "WA",
                "postalCode": "98109",
                "country": "US",
            },
        },
        "lines": [
            {
                "number": "1",
                "quantity": 2,
                "amount": 100.0,
                "taxCode": "PS081282",
                "itemCode": "Y0001",
                "description": "Yarn",
            }
        ],
    }
    assert answer["total_tax"] == "10.25"
    [line] = answer["lines"]
    assert (line["line_number"], line["tax"]) == (1, "10.25")
    assert line["taxes"][0] == {
        "rate": "0.065",
        "tax": "6.50",
        "tax_name": "WA STATE TAX",
        "country": "US",
        "region": "WA",
        "tax_type": "Sales",
        "jurisdiction": "WASHINGTON",
        "jurisdiction_type": "state",
    }
    assert [(t["jurisdiction"], t["rate"], t["jurisdiction_type"]) for t in line["taxes"]] == [
        ("WASHINGTON", "0.065", "state"),
        ("KING", "0", "county"),
        ("SEATTLE", "0.0215", "city"),
        ("KING COUNTY RTA", "0.016", "special"),
    ]


async def test_rates_by_address_are_asked_with_the_address_in_the_query(respx_mock, avatax, call):
    route = respx_mock.get(BY_ADDRESS).respond(200, json=AVATAX_RATES_BY_ADDRESS)

    answer = await call(avatax, "taxes_for_address", {"address": IRVINE})

    sent = route.calls.last.request
    assert sent.headers["Authorization"] == BASIC
    assert dict(sent.url.params) == {
        "line1": "100 Spectrum Center Dr",
        "line2": "Suite 900",
        "city": "Irvine",
        "region": "CA",
        "postalCode": "92618",
        "country": "US",
    }
    assert answer == {
        "total_rate": "0.1025",
        "rates": [
            {"rate": "0.065", "jurisdiction": "WASHINGTON", "jurisdiction_type": "state"},
            {"rate": "0", "jurisdiction": "KING", "jurisdiction_type": "county"},
            {"rate": "0.0215", "jurisdiction": "SEATTLE", "jurisdiction_type": "city"},
            {"rate": "0.016", "jurisdiction": "KING COUNTY RTA", "jurisdiction_type": "special"},
        ],
    }


@pytest.mark.parametrize(
    ("error", "field"),
    [
        (
            avatax_error(
                "InvalidAddress",
                "The address value was incomplete.",
                target="IncorrectData",
                refers_to="Addresses.ShipTo",
            ),
            "ship_to_address",
        ),
        (
            avatax_error("AddressRangeError", "Address not geocoded.", target="IncorrectData"),
            "ship_to_address",
        ),
        (
            avatax_error(
                "InvalidAddress",
                "The address value was incomplete.",
                target="IncorrectData",
                refers_to="Addresses.ShipFrom",
            ),
            "ship_from_address",
        ),
        (
            avatax_error(
                "GetTaxError",
                "Line amount is out of range.",
                target="IncorrectData",
                refers_to="Lines[0].amount",
            ),
            "lines.0",
        ),
        (
            avatax_error("ModelStateInvalid", "Field date is invalid.", target="IncorrectData"),
            "non_field_errors",
        ),
    ],
)
async def test_input_errors_are_invalid_input_naming_the_field(
    respx_mock, avatax, call, error, field
):
    respx_mock.post(CREATE).respond(400, json=error)

    with pytest.raises(InvalidInput) as raised:
        await call(avatax, "taxes_for_sale", sale(SEATTLE))

    assert list(raised.value.errors or {}) == [field]
    assert "(detail)" in raised.value.errors[field][0]


async def test_an_address_error_on_rates_names_the_address(respx_mock, avatax, call):
    respx_mock.get(BY_ADDRESS).respond(
        400, json=avatax_error("InvalidAddress", "Unknown address.", target="IncorrectData")
    )

    with pytest.raises(InvalidInput) as raised:
        await call(avatax, "taxes_for_address", {"address": SEATTLE})

    assert list(raised.value.errors or {}) == ["address"]


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (
            401,
            avatax_error(
                "AuthenticationException",
                "Authentication failed.",
                target="HttpRequestHeaders",
            ),
            OUTCOME_AUTH,
        ),
        (
            403,
            avatax_error("PermissionRequired", "Permission denied.", target="Unknown"),
            OUTCOME_AUTH,
        ),
        (429, avatax_error("TooManyRequests", "Slow down.", target="Unknown"), OUTCOME_QUOTA),
        (
            500,
            avatax_error("ServerConfiguration", "Error.", target="Unknown", fault="Server"),
            OUTCOME_HTTP_ERROR,
        ),
        (
            400,
            avatax_error("DatabaseError", "Database trouble.", target="Unknown", fault="Server"),
            OUTCOME_HTTP_ERROR,
        ),
    ],
)
async def test_account_and_service_trouble_is_a_fault(
    respx_mock, avatax, call, status, body, outcome
):
    respx_mock.post(CREATE).respond(status, json=body)

    with pytest.raises(ProviderFault) as raised:
        await call(avatax, "taxes_for_sale", sale(SEATTLE))

    assert raised.value.outcome == outcome
    assert "LICENSE-KEY" not in raised.value.detail


async def test_an_answer_without_the_documented_fields_is_malformed(respx_mock, avatax, call):
    respx_mock.post(CREATE).respond(201, json={"id": 0, "totalTax": "lots"})

    with pytest.raises(ProviderFault) as raised:
        await call(avatax, "taxes_for_sale", sale(SEATTLE))

    assert raised.value.outcome == OUTCOME_MALFORMED


async def test_the_probe_pings_with_our_credentials(respx_mock, avatax):
    route = respx_mock.get(PING).respond(200, json=AVATAX_PING)

    await avatax.probe()

    assert route.calls.last.request.headers["Authorization"] == BASIC


async def test_a_ping_that_does_not_authenticate_is_unhealthy(respx_mock, avatax):
    respx_mock.get(PING).respond(200, json={**AVATAX_PING, "authenticated": False})

    with pytest.raises(ProviderFault) as raised:
        await avatax.probe()

    assert raised.value.outcome == OUTCOME_AUTH
