"""The currencylayer adapter against currencylayer's documented answers, faked over HTTP."""

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
from apps.integrations.currency.providers.currencylayer import Currencylayer
from tests.integrations.currency.vendor_answers import (
    CURRENCYLAYER_CONVERT,
    CURRENCYLAYER_LIVE,
    apilayer_error,
)

LIVE = "https://api.currencylayer.com/live"
CONVERT = "https://api.currencylayer.com/convert"


@pytest.fixture
def currencylayer(adapter):
    return adapter(Currencylayer, access_key="cl-key")


async def test_latest_rates_asks_live_for_the_source_and_currencies(
    respx_mock, currencylayer, call
):
    # given
    route = respx_mock.get(LIVE).respond(200, json=CURRENCYLAYER_LIVE)

    # when
    answer = await call(currencylayer, "latest_rates", {"base": "USD", "symbols": ["EUR", "GBP"]})

    # then
    sent = route.calls.last.request
    assert dict(sent.url.params) == {
        "access_key": "cl-key",
        "source": "USD",
        "currencies": "EUR,GBP",
    }
    assert answer == {"base": "USD", "date": "2015-05-23", "rates": {"EUR": 0.908, "GBP": 0.645702}}


async def test_pair_quotes_become_rates_without_the_base(respx_mock, currencylayer, call):
    # given
    route = respx_mock.get(LIVE).respond(200, json=CURRENCYLAYER_LIVE)

    # when
    answer = await call(currencylayer, "latest_rates", {"base": "USD"})

    # then
    assert "currencies" not in route.calls.last.request.url.params
    assert answer["rates"] == {"AUD": 1.27834, "EUR": 0.908, "GBP": 0.645702}


async def test_convert_uses_the_quote_and_the_timestamps_utc_date(respx_mock, currencylayer, call):
    # given
    route = respx_mock.get(CONVERT).respond(200, json=CURRENCYLAYER_CONVERT)

    # when
    answer = await call(currencylayer, "convert", {"from": "USD", "to": "GBP", "amount": "10"})

    # then
    sent = route.calls.last.request
    assert dict(sent.url.params) == {
        "access_key": "cl-key",
        "from": "USD",
        "to": "GBP",
        "amount": "10",
    }
    assert answer == {
        "from": "USD",
        "to": "GBP",
        "amount": "10",
        "rate": 0.658443,
        "result": "6.58",
        "date": "2015-04-26",
    }


@pytest.mark.parametrize(
    ("code", "type_", "outcome"),
    [
        (101, "invalid_access_key", OUTCOME_AUTH),
        (102, "inactive_user", OUTCOME_AUTH),
        (104, "usage_limit_reached", OUTCOME_QUOTA),
        (105, "base_currency_access_restricted", OUTCOME_OUTAGE),
    ],
)
async def test_account_errors_are_provider_faults(
    respx_mock, currencylayer, call, code, type_, outcome
):
    # given
    respx_mock.get(LIVE).respond(200, json=apilayer_error(code, type_, "Not on your plan."))

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(currencylayer, "latest_rates", {"base": "EUR"})

    # then
    assert raised.value.outcome == outcome


@pytest.mark.parametrize(
    ("method", "payload", "code", "type_", "field"),
    [
        ("latest_rates", {"base": "XXX"}, 201, "invalid_source_currency", "base"),
        ("latest_rates", {"symbols": ["XXX"]}, 202, "invalid_currency_codes", "symbols"),
        ("convert", {"from": "XXX", "to": "EUR", "amount": "1"}, 401, "invalid_from", "from"),
        ("convert", {"from": "EUR", "to": "XXX", "amount": "1"}, 402, "invalid_to", "to"),
        ("convert", {"from": "EUR", "to": "USD", "amount": "0"}, 403, "invalid_amount", "amount"),
    ],
)
async def test_input_errors_name_the_field_the_client_got_wrong(
    respx_mock, currencylayer, call, method, payload, code, type_, field
):
    # given
    respx_mock.get(url__startswith="https://api.currencylayer.com/").respond(
        200, json=apilayer_error(code, type_)
    )

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(currencylayer, method, payload)

    # then
    assert list(raised.value.errors or {}) == [field]


async def test_a_server_error_is_a_fault(respx_mock, currencylayer, call):
    # given
    respx_mock.get(LIVE).respond(502)

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(currencylayer, "latest_rates", {"base": "USD"})

    # then
    assert raised.value.outcome == OUTCOME_HTTP_ERROR


async def test_too_many_requests_is_a_quota_fault_with_retry_after(respx_mock, currencylayer, call):
    # given
    respx_mock.get(LIVE).respond(429, headers={"Retry-After": "120"})

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(currencylayer, "latest_rates", {"base": "USD"})

    # then
    assert (raised.value.outcome, raised.value.retry_after_s) == (OUTCOME_QUOTA, 120)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="upstream connect error"),
        httpx.Response(200, json={**CURRENCYLAYER_LIVE, "timestamp": "yesterday"}),
        httpx.Response(200, json={"success": True, "source": "USD"}),
    ],
    ids=["text", "bad-timestamp", "no-quotes"],
)
async def test_a_garbage_answer_is_a_malformed_fault(respx_mock, currencylayer, call, response):
    # given
    respx_mock.get(LIVE).mock(return_value=response)

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(currencylayer, "latest_rates", {"base": "USD"})

    # then
    assert raised.value.outcome == OUTCOME_MALFORMED


async def test_without_an_access_key_nothing_is_sent(respx_mock, adapter, call):
    # given
    currencylayer = adapter(Currencylayer, access_key="")

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(currencylayer, "convert", {"from": "USD", "to": "GBP", "amount": "10"})

    # then
    assert raised.value.outcome == OUTCOME_MISCONFIGURED
    assert not respx_mock.calls
