"""The Vonage adapter against the documented SMS API answers (respx)."""

from urllib.parse import parse_qs

import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_OUTAGE,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.sms.providers.vonage import Vonage
from tests.integrations.sms.conftest import SMS
from tests.integrations.sms.vendor_answers import VONAGE_SENT, vonage_error

SEND = "https://rest.nexmo.com/sms/json"


@pytest.fixture
def vonage(adapter):
    return adapter(Vonage, api_key="vk", api_secret="vs")


async def test_the_message_is_form_posted_with_the_key_and_secret(respx_mock, vonage, call):
    # given
    route = respx_mock.post(SEND).respond(200, json=VONAGE_SENT)

    # when
    answer = await call(vonage, "send", SMS)

    # then
    assert parse_qs(route.calls.last.request.content.decode()) == {
        "api_key": ["vk"],
        "api_secret": ["vs"],
        "from": ["14155550100"],
        "to": ["447700900123"],
        "text": ["Your code is 123456"],
    }
    assert answer == {"accepted": True, "message_id": "0A0000000123ABCD1", "segments": 2}


async def test_text_outside_the_gsm_alphabet_is_sent_as_unicode(respx_mock, vonage, call):
    route = respx_mock.post(SEND).respond(200, json=VONAGE_SENT)

    await call(vonage, "send", {**SMS, "body": "Ваш код 123456"})

    assert parse_qs(route.calls.last.request.content.decode())["type"] == ["unicode"]


@pytest.mark.parametrize(
    ("status", "text", "field"),
    [
        ("3", "Invalid to number", "non_field_errors"),
        ("7", "Number barred.", "to_number"),
        ("15", "Illegal Sender Address - rejected", "sender"),
    ],
)
async def test_input_errors_name_the_field(respx_mock, vonage, call, status, text, field):
    respx_mock.post(SEND).respond(200, json=vonage_error(status, text))

    with pytest.raises(InvalidInput) as raised:
        await call(vonage, "send", SMS)

    assert raised.value.errors == {field: [text]}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("1", OUTCOME_QUOTA), ("4", OUTCOME_AUTH), ("5", OUTCOME_OUTAGE), ("9", OUTCOME_QUOTA)],
)
async def test_account_and_service_trouble_is_a_fault(respx_mock, vonage, call, status, outcome):
    respx_mock.post(SEND).respond(200, json=vonage_error(status, "Vonage says no"))

    with pytest.raises(ProviderFault) as raised:
        await call(vonage, "send", SMS)

    assert raised.value.outcome == outcome
    assert "vs" not in raised.value.detail.split()
