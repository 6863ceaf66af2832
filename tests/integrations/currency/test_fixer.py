"""The fixer adapter against fixer's documented answers, faked at the HTTP level."""

import httpx
import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OUTAGE,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.currency.providers.fixer import Fixer
from tests.integrations.currency.vendor_answers import FIXER_CONVERT, FIXER_LATEST, apilayer_error

LATEST = "https://data.fixer.io/api/latest"
CONVERT = "https://data.fixer.io/api/convert"


@pytest.fixture
def fixer_adapter(adapter):
    """The adapter itself (the root conftest's `fixer` fakes the vendor for calls)."""
    return adapter(Fixer, access_key="fixer-key")


async def test_latest_rates_asks_for_the_base_and_symbols(respx_mock, fixer_adapter, call):
    # given
    route = respx_mock.get(LATEST).respond(200, json=FIXER_LATEST)

    # when
    answer = await call(fixer_adapter, "latest_rates", {"base": "EUR", "symbols": ["USD", "GBP"]})

    # then
    sent = route.calls.last.request
    assert dict(sent.url.params) == {"access_key": "fixer-key", "base": "EUR", "symbols": "USD,GBP"}
    assert answer == {
        "base": "EUR",
        "date": "2026-11-29",
        "rates": {"GBP": 0.88245, "USD": 1.23396},
    }


async def test_latest_rates_without_symbols_lists_all_but_the_base(respx_mock, fixer_adapter, call):
    # given
    route = respx_mock.get(LATEST).respond(200, json=FIXER_LATEST)

    # when
    answer = await call(fixer_adapter, "latest_rates", {"base": "EUR"})

    # then
    assert "symbols" not in route.calls.last.request.url.params
    assert answer["rates"] == {"CHF": 1.1525, "GBP": 0.88245, "JPY": 133.482, "USD": 1.23396}


async def test_convert_recomputes_the_result_in_decimal_to_the_minor_unit(
    respx_mock, fixer_adapter, call
):
    # given
    route = respx_mock.get(CONVERT).respond(200, json=FIXER_CONVERT)

    # when
    answer = await call(fixer_adapter, "convert", {"from": "GBP", "to": "JPY", "amount": "25.00"})

    # then
    sent = route.calls.last.request
    assert dict(sent.url.params) == {
        "access_key": "fixer-key",
        "from": "GBP",
        "to": "JPY",
        "amount": "25.00",
    }
    assert answer == {
        "from": "GBP",
        "to": "JPY",
        "amount": "25.00",
        "rate": 148.972,
        "result": "3724",  # 25.00 x 148.972231, rounded to whole yen
        "date": "2026-11-29",
    }


@pytest.mark.parametrize(
    ("code", "type_", "outcome"),
    [
        (101, "invalid_access_key", OUTCOME_AUTH),
        (102, "inactive_user", OUTCOME_AUTH),
        (103, "invalid_api_function", OUTCOME_OUTAGE),
        (104, "usage_limit_reached", OUTCOME_QUOTA),
        (105, "base_currency_access_restricted", OUTCOME_OUTAGE),
        (106, "no_rates_available", OUTCOME_OUTAGE),
        (404, "404_not_found", OUTCOME_OUTAGE),
    ],
)
async def test_account_and_service_errors_are_provider_faults(
    respx_mock, fixer_adapter, call, code, type_, outcome
):
    # given fixer's error convention: HTTP 200 and success false
    respx_mock.get(LATEST).respond(200, json=apilayer_error(code, type_, "Fixer says no."))

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(fixer_adapter, "latest_rates", {"base": "EUR"})

    # then
    assert raised.value.outcome == outcome
    assert str(code) in raised.value.detail
    assert "fixer-key" not in raised.value.detail


@pytest.mark.parametrize(
    ("method", "payload", "code", "type_", "field"),
    [
        ("latest_rates", {"base": "XXX"}, 201, "invalid_base_currency", "base"),
        ("latest_rates", {"symbols": ["XXX"]}, 202, "invalid_currency_codes", "symbols"),
        ("convert", {"from": "XXX", "to": "EUR", "amount": "1"}, 401, "invalid_from", "from"),
        ("convert", {"from": "EUR", "to": "XXX", "amount": "1"}, 402, "invalid_to", "to"),
        ("convert", {"from": "EUR", "to": "USD", "amount": "0"}, 403, "invalid_amount", "amount"),
        ("convert", {"from": "XXX", "to": "EUR", "amount": "1"}, 201, "invalid_base", "from"),
        (
            "convert",
            {"from": "XXX", "to": "YYY", "amount": "1"},
            202,
            "invalid_codes",
            "non_field_errors",
        ),
    ],
)
async def test_input_errors_name_the_field_the_client_got_wrong(
    respx_mock, fixer_adapter, call, method, payload, code, type_, field
):
    # given
    respx_mock.get(url__startswith="https://data.fixer.io/api/").respond(
        200, json=apilayer_error(code, type_)
    )

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(fixer_adapter, method, payload)

    # then
    assert list(raised.value.errors or {}) == [field]


async def test_a_server_error_is_a_fault(respx_mock, fixer_adapter, call):
    # given
    respx_mock.get(LATEST).respond(503, text="Service Unavailable")

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(fixer_adapter, "latest_rates", {"base": "EUR"})

    # then
    assert (raised.value.outcome, raised.value.detail) == (OUTCOME_HTTP_ERROR, "HTTP 503")


async def test_too_many_requests_is_a_quota_fault_with_retry_after(respx_mock, fixer_adapter, call):
    # given
    respx_mock.get(LATEST).respond(429, headers={"Retry-After": "30"}, json={})

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(fixer_adapter, "latest_rates", {"base": "EUR"})

    # then
    assert raised.value.outcome == OUTCOME_QUOTA
    assert raised.value.retry_after_s == 30


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, html="<html><body>Cloudflare: checking your browser</body></html>"),
        httpx.Response(200, json={"success": True, "base": "EUR", "date": "2026-11-29"}),
        httpx.Response(200, json={**FIXER_LATEST, "rates": {"USD": "n/a"}}),
        httpx.Response(200, json={**FIXER_LATEST, "rates": {"USD": -1.23396}}),
        httpx.Response(200, json={**FIXER_LATEST, "rates": {"USD": 0.0}}),
        httpx.Response(200, json={**FIXER_LATEST, "rates": {"USD": True}}),
        httpx.Response(200, json=[FIXER_LATEST]),
    ],
    ids=["html", "no-rates", "rate-not-a-number", "negative", "zero", "boolean", "not-an-object"],
)
async def test_a_garbage_answer_is_a_malformed_fault(respx_mock, fixer_adapter, call, response):
    # given
    respx_mock.get(LATEST).mock(return_value=response)

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(fixer_adapter, "latest_rates", {"base": "EUR"})

    # then
    assert raised.value.outcome == OUTCOME_MALFORMED


async def test_without_an_access_key_nothing_is_sent(respx_mock, adapter, call):
    # given a provider row whose credentials were never filled in
    fixer_adapter = adapter(Fixer)

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(fixer_adapter, "latest_rates", {"base": "EUR"})

    # then
    assert raised.value.outcome == OUTCOME_MISCONFIGURED
    assert "access_key" in raised.value.detail
    assert not respx_mock.calls
