"""The Open Exchange Rates adapter against its documented answers, faked over HTTP."""

import httpx
import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    OUTCOME_MISCONFIGURED,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.currency.providers.openexchangerates import OpenExchangeRates
from tests.integrations.currency.vendor_answers import OXR_LATEST, oxr_error

LATEST = "https://openexchangerates.org/api/latest.json"


@pytest.fixture
def oxr(adapter):
    return adapter(OpenExchangeRates, app_id="oxr-app")


async def test_latest_rates_asks_for_the_base_and_symbols(respx_mock, oxr, call):
    # given
    route = respx_mock.get(LATEST).respond(200, json=OXR_LATEST)

    # when
    answer = await call(oxr, "latest_rates", {"base": "USD", "symbols": ["EUR", "GBP"]})

    # then
    sent = route.calls.last.request
    assert dict(sent.url.params) == {"app_id": "oxr-app", "base": "USD", "symbols": "EUR,GBP"}
    assert answer == {
        "base": "USD",
        "date": "2015-12-11",
        "rates": {"EUR": 0.913492, "GBP": 0.66005},
    }


async def test_latest_rates_without_symbols_lists_all_but_the_base(respx_mock, oxr, call):
    # given
    route = respx_mock.get(LATEST).respond(200, json=OXR_LATEST)

    # when
    answer = await call(oxr, "latest_rates", {"base": "USD"})

    # then
    assert "symbols" not in route.calls.last.request.url.params
    assert set(answer["rates"]) == {"AED", "EUR", "GBP", "JPY"}


async def test_convert_is_computed_from_latest_json(respx_mock, oxr, call):
    # given the rates of one USD, as asked for with base=USD and symbols=JPY
    route = respx_mock.get(LATEST).respond(200, json={**OXR_LATEST, "rates": {"JPY": 121.5005}})

    # when
    answer = await call(oxr, "convert", {"from": "USD", "to": "JPY", "amount": "19.99"})

    # then
    sent = route.calls.last.request
    assert dict(sent.url.params) == {"app_id": "oxr-app", "base": "USD", "symbols": "JPY"}
    assert answer == {
        "from": "USD",
        "to": "JPY",
        "amount": "19.99",
        "rate": 121.5,  # shown to 6 significant digits; the result uses them all
        "result": "2429",  # 19.99 x 121.5005 = 2428.794995, to whole yen
        "date": "2015-12-11",
    }


async def test_a_symbol_it_does_not_know_is_the_clients_input(respx_mock, oxr, call):
    # given Open Exchange Rates leaves out symbols it does not know
    respx_mock.get(LATEST).respond(200, json={**OXR_LATEST, "rates": {"EUR": 0.913492}})

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(oxr, "latest_rates", {"base": "USD", "symbols": ["EUR", "XXX"]})

    # then
    assert raised.value.errors == {"symbols": ["Unknown: XXX"]}


@pytest.mark.parametrize(
    ("method", "payload", "field"),
    [
        ("latest_rates", {"base": "XXX"}, "base"),
        ("convert", {"from": "XXX", "to": "USD", "amount": "1"}, "from"),
    ],
)
async def test_invalid_base_is_the_clients_input(respx_mock, oxr, call, method, payload, field):
    # given
    respx_mock.get(LATEST).respond(400, json=oxr_error(400, "invalid_base", "Invalid base."))

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(oxr, method, payload)

    # then
    assert list(raised.value.errors or {}) == [field]


@pytest.mark.parametrize(
    ("status", "message", "outcome"),
    [
        (401, "missing_app_id", OUTCOME_AUTH),
        (401, "invalid_app_id", OUTCOME_AUTH),
        (403, "access_restricted", OUTCOME_AUTH),
        (403, "not_allowed", OUTCOME_AUTH),
        (404, "not_found", OUTCOME_HTTP_ERROR),
        (500, "internal_error", OUTCOME_HTTP_ERROR),
    ],
)
async def test_account_and_server_errors_are_provider_faults(
    respx_mock, oxr, call, status, message, outcome
):
    # given
    respx_mock.get(LATEST).respond(status, json=oxr_error(status, message, "Sorry."))

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(oxr, "latest_rates", {"base": "USD"})

    # then
    assert raised.value.outcome == outcome
    assert "oxr-app" not in raised.value.detail


async def test_too_many_requests_is_a_quota_fault_with_retry_after(respx_mock, oxr, call):
    # given
    respx_mock.get(LATEST).respond(
        429, headers={"Retry-After": "3600"}, json=oxr_error(429, "not_allowed")
    )

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(oxr, "latest_rates", {"base": "USD"})

    # then
    assert (raised.value.outcome, raised.value.retry_after_s) == (OUTCOME_QUOTA, 3600)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"\x00\xff garbage"),
        httpx.Response(200, json={**OXR_LATEST, "rates": None}),
        httpx.Response(200, json={"disclaimer": "...", "base": "USD", "rates": {}}),
    ],
    ids=["binary", "null-rates", "no-timestamp"],
)
async def test_a_garbage_answer_is_a_malformed_fault(respx_mock, oxr, call, response):
    # given
    respx_mock.get(LATEST).mock(return_value=response)

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(oxr, "latest_rates", {"base": "USD"})

    # then
    assert raised.value.outcome == OUTCOME_MALFORMED


async def test_without_an_app_id_nothing_is_sent(respx_mock, adapter, call):
    # given a key stored under fixer's name, not the one Open Exchange Rates needs
    oxr = adapter(OpenExchangeRates, access_key="oxr-app")

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(oxr, "latest_rates", {"base": "USD"})

    # then
    assert raised.value.outcome == OUTCOME_MISCONFIGURED
    assert "app_id" in raised.value.detail
    assert not respx_mock.calls
