"""Each SMS adapter's health probe, against the vendor's documented answers."""

import pytest

from apps.catalog.providers import OUTCOME_AUTH, OUTCOME_QUOTA, ProviderFault
from apps.integrations.sms.providers.console import ConsoleSms
from apps.integrations.sms.providers.twilio import Twilio
from apps.integrations.sms.providers.vonage import Vonage
from tests.integrations.sms.vendor_answers import TWILIO_SID

ACCOUNT = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}.json"
BALANCE = "https://rest.nexmo.com/account/get-balance"


def twilio_account(status: str) -> dict:
    return {
        "sid": TWILIO_SID,
        "friendly_name": "ACME",
        "status": status,
        "type": "Full",
        "date_created": "Thu, 01 Jan 2026 00:00:00 +0000",
        "uri": f"/2010-04-01/Accounts/{TWILIO_SID}.json",
    }


async def test_twilio_probe_reads_the_account(respx_mock, adapter):
    route = respx_mock.get(ACCOUNT).respond(200, json=twilio_account("active"))

    await adapter(Twilio, account_sid=TWILIO_SID, auth_token="tw").probe()

    assert route.calls.last.request.headers["Authorization"].startswith("Basic ")


async def test_a_suspended_twilio_account_is_unhealthy(respx_mock, adapter):
    respx_mock.get(ACCOUNT).respond(200, json=twilio_account("suspended"))

    with pytest.raises(ProviderFault) as raised:
        await adapter(Twilio, account_sid=TWILIO_SID, auth_token="tw").probe()

    assert raised.value.outcome == OUTCOME_AUTH


@pytest.mark.parametrize(("value", "healthy"), [(10.28, True), (0.0, False)])
async def test_vonage_probe_reads_the_balance(respx_mock, adapter, value, healthy):
    route = respx_mock.get(BALANCE).respond(200, json={"value": value, "autoReload": False})
    vonage = adapter(Vonage, api_key="vk", api_secret="vs")

    if healthy:
        await vonage.probe()
    else:
        with pytest.raises(ProviderFault) as raised:
            await vonage.probe()
        assert raised.value.outcome == OUTCOME_QUOTA
    assert dict(route.calls.last.request.url.params) == {"api_key": "vk", "api_secret": "vs"}


def test_the_console_has_no_probe():
    assert not ConsoleSms.has_health_probe()
