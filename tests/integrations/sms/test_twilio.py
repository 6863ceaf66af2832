"""The Twilio adapter against Twilio's documented Messages answers (respx)."""

import base64
from urllib.parse import parse_qs

import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OUTAGE,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.sms.providers.twilio import Twilio
from tests.integrations.sms.conftest import SMS
from tests.integrations.sms.vendor_answers import TWILIO_CREATED, TWILIO_SID, twilio_error

MESSAGES = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"


@pytest.fixture
def twilio(adapter):
    return adapter(Twilio, account_sid=TWILIO_SID, auth_token="tw-token")


async def test_the_message_is_form_posted_to_the_accounts_messages(respx_mock, twilio, call):
    # given
    route = respx_mock.post(MESSAGES).respond(201, json=TWILIO_CREATED)

    # when
    answer = await call(twilio, "send", SMS)

    # then
    sent = route.calls.last.request
    credentials = base64.b64encode(f"{TWILIO_SID}:tw-token".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {credentials}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.content.decode()) == {
        "To": ["+447700900123"],
        "From": ["+14155550100"],
        "Body": ["Your code is 123456"],
    }
    assert answer == {"accepted": True, "message_id": TWILIO_CREATED["sid"], "segments": 1}


async def test_the_status_callback_is_asked_for_when_configured(respx_mock, adapter, call):
    # given
    route = respx_mock.post(MESSAGES).respond(201, json=TWILIO_CREATED)
    callback = "https://gateway.example.com/api/v1/webhooks/twilio/"
    twilio = adapter(
        Twilio, account_sid=TWILIO_SID, auth_token="tw-token", status_callback=callback
    )

    # when
    await call(twilio, "send", {**SMS, "sender": "ACME Shop"})

    # then
    form = parse_qs(route.calls.last.request.content.decode())
    assert form["StatusCallback"] == [callback]
    assert form["From"] == ["ACME Shop"]


@pytest.mark.parametrize(
    ("code", "field"),
    [
        (21211, "to_number"),
        (21614, "to_number"),
        (21610, "to_number"),
        (21606, "sender"),
        (21617, "body"),
        (21604, "non_field_errors"),  # undocumented here: still the request's fault
    ],
)
async def test_input_errors_name_the_field(respx_mock, twilio, call, code, field):
    # given
    message = f"Twilio error {code}"
    respx_mock.post(MESSAGES).respond(400, json=twilio_error(code, message))

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(twilio, "send", SMS)

    # then
    assert raised.value.errors == {field: [message]}


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (401, 20003, OUTCOME_AUTH),
        (404, 20404, OUTCOME_MISCONFIGURED),
        (400, 21408, OUTCOME_OUTAGE),  # this account may not send to the region
        (429, 20429, OUTCOME_QUOTA),
        (500, 20500, OUTCOME_HTTP_ERROR),
    ],
)
async def test_account_and_service_trouble_is_a_fault(
    respx_mock, twilio, call, status, code, outcome
):
    respx_mock.post(MESSAGES).respond(status, json=twilio_error(code, "no", status))

    with pytest.raises(ProviderFault) as raised:
        await call(twilio, "send", SMS)

    assert raised.value.outcome == outcome
    assert "tw-token" not in raised.value.detail
