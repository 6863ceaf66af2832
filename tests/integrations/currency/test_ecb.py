"""The ECB adapter against the ECB's daily reference-rate XML, faked over HTTP."""

import httpx
import pytest

from apps.catalog.providers import (
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.currency.providers.ecb import EuropeanCentralBank
from tests.integrations.currency.vendor_answers import ECB_DAILY

DAILY = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"


@pytest.fixture
def ecb(adapter):
    return adapter(EuropeanCentralBank)


async def test_latest_rates_in_euro_come_straight_from_the_daily_file(respx_mock, ecb, call):
    # given
    route = respx_mock.get(DAILY).respond(200, content=ECB_DAILY, content_type="text/xml")

    # when
    answer = await call(ecb, "latest_rates", {"base": "EUR"})

    # then no key is needed and the file is fetched as published
    assert route.calls.last.request.url.query == b""
    assert answer == {
        "base": "EUR",
        "date": "2026-11-27",
        "rates": {"CHF": 0.9412, "GBP": 0.8455, "JPY": 161.84, "USD": 1.0823},
    }


async def test_other_bases_get_cross_rates_including_the_euro(respx_mock, ecb, call):
    # given
    respx_mock.get(DAILY).respond(200, content=ECB_DAILY)

    # when
    answer = await call(ecb, "latest_rates", {"base": "USD", "symbols": ["EUR", "JPY", "USD"]})

    # then one USD is 1/1.0823 EUR, 161.84/1.0823 JPY, and itself when asked for
    assert answer["rates"] == {"EUR": 0.923958, "JPY": 149.533, "USD": 1.0}


async def test_convert_crosses_through_the_euro(respx_mock, ecb, call):
    # given
    respx_mock.get(DAILY).respond(200, content=ECB_DAILY)

    # when
    answer = await call(ecb, "convert", {"from": "GBP", "to": "JPY", "amount": "100"})

    # then 161.84 / 0.8455 JPY per GBP
    assert answer == {
        "from": "GBP",
        "to": "JPY",
        "amount": "100",
        "rate": 191.413,
        "result": "19141",
        "date": "2026-11-27",
    }


@pytest.mark.parametrize(
    ("method", "payload", "errors"),
    [
        ("latest_rates", {"base": "ARS"}, {"base": ["Unknown currency: ARS"]}),
        ("latest_rates", {"symbols": ["USD", "ARS"]}, {"symbols": ["Unknown: ARS"]}),
        (
            "convert",
            {"from": "ARS", "to": "EUR", "amount": "1"},
            {"from": ["Unknown currency: ARS"]},
        ),
        ("convert", {"from": "EUR", "to": "ARS", "amount": "1"}, {"to": ["Unknown: ARS"]}),
    ],
)
async def test_a_currency_the_ecb_does_not_publish_is_the_clients_input(
    respx_mock, ecb, call, method, payload, errors
):
    # given
    respx_mock.get(DAILY).respond(200, content=ECB_DAILY)

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(ecb, method, payload)

    # then
    assert raised.value.errors == errors


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        (httpx.Response(500), OUTCOME_HTTP_ERROR),
        (httpx.Response(404, html="<h1>Not found</h1>"), OUTCOME_HTTP_ERROR),
        (httpx.Response(429, headers={"Retry-After": "60"}), OUTCOME_QUOTA),
        (httpx.Response(200, html="<html><body>Maintenance"), OUTCOME_MALFORMED),
        (httpx.Response(200, content=b"<gesmes:Envelope/>"), OUTCOME_MALFORMED),
        (httpx.Response(200, content=ECB_DAILY.replace(b"time=", b"t=")), OUTCOME_MALFORMED),
        (httpx.Response(200, content=ECB_DAILY.replace(b"'1.0823'", b"'N/A'")), OUTCOME_MALFORMED),
    ],
    ids=["500", "404", "429", "unclosed-html", "unbound-prefix", "no-date", "bad-rate"],
)
async def test_an_unusable_answer_is_a_fault(respx_mock, ecb, call, response, outcome):
    # given
    respx_mock.get(DAILY).mock(return_value=response)

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(ecb, "latest_rates", {"base": "EUR"})

    # then
    assert raised.value.outcome == outcome
