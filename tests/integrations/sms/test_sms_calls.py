"""sms.send end to end: the endpoint, failover between Twilio and Vonage, the ledger."""

from decimal import Decimal

import pytest
import respx

from apps.ledger.models import LedgerEntry
from apps.messaging.models import SentMessage
from tests.integrations.sms.conftest import SMS
from tests.integrations.sms.vendor_answers import (
    TWILIO_CREATED,
    TWILIO_SID,
    VONAGE_SENT,
    twilio_error,
)
from tests.support.calls import configure, only_providers, post
from tests.support.servers import HangingServer, refused_url

SEND = "/api/v1/services/sms/send/"
TWILIO_URL = "https://twilio.test"
VONAGE_URL = "https://vonage.test"
TWILIO_MESSAGES = f"{TWILIO_URL}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("egress_private")]

TWILIO_CREDENTIALS = {"account_sid": TWILIO_SID, "auth_token": "tw-token"}


@pytest.fixture
def twilio_then_vonage(db):
    only_providers("twilio", "vonage")
    configure("twilio", base_url=TWILIO_URL, credentials=TWILIO_CREDENTIALS, priority=1)
    configure(
        "vonage",
        base_url=VONAGE_URL,
        credentials={"api_key": "vk", "api_secret": "vs"},
        priority=2,
        cost="0.0300",
    )


@pytest.fixture
def vendors():
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.post(f"{VONAGE_URL}/sms/json").respond(200, json=VONAGE_SENT)
        yield router


def test_twilio_sends_and_the_message_is_linked_to_the_ledger_row(
    api, texter, twilio_then_vonage, vendors
):
    vendors.post(TWILIO_MESSAGES).respond(201, json=TWILIO_CREATED)

    response = post(api, SEND, SMS, texter)

    assert response.status_code == 200, response.content
    assert response.json()["data"] == {
        "accepted": True,
        "message_id": TWILIO_CREATED["sid"],
        "segments": 1,
    }
    assert (response["X-Provider"], response["X-Price"]) == ("twilio", "0.0500")
    message = SentMessage.objects.get()
    assert (message.ledger_entry, message.service, message.message_id) == (
        LedgerEntry.objects.get(),
        "sms",
        TWILIO_CREATED["sid"],
    )


def test_a_refused_connection_fails_over_to_vonage(api, texter, twilio_then_vonage, vendors):
    configure("twilio", base_url=refused_url(), credentials=TWILIO_CREDENTIALS, priority=1)

    response = post(api, SEND, SMS, texter)

    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "vonage"
    assert response.json()["data"]["message_id"] == "0A0000000123ABCD1"
    entry = LedgerEntry.objects.get()
    assert [a["outcome"] for a in entry.attempts] == ["connection_error", "ok"]
    assert entry.cost == Decimal("0.0300")


def test_no_failover_after_a_timeout(api, texter, twilio_then_vonage, vendors):
    with HangingServer() as hanging:
        configure(
            "twilio",
            base_url=f"http://127.0.0.1:{hanging.port}",
            credentials=TWILIO_CREDENTIALS,
            priority=1,
            timeout_ms=300,
        )
        response = post(api, SEND, SMS, texter)

    assert response.status_code == 502
    assert [a["outcome"] for a in response.json()["attempts"]] == ["timeout"]
    assert not vendors.routes[1].called


def test_an_invalid_number_at_twilio_is_422_without_failover(
    api, texter, twilio_then_vonage, vendors
):
    vendors.post(TWILIO_MESSAGES).respond(
        400, json=twilio_error(21211, "The 'To' number +447700900123 is not a valid phone number.")
    )

    response = post(api, SEND, SMS, texter)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["to_number"]
    assert not vendors.routes[1].called


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sender": "+1 415 555"}, "sender"),
        ({"sender": "TWELVECHARSX"}, "sender"),  # 12 characters
        ({"sender": "12345"}, "sender"),  # alphanumeric ids need a letter
        ({"to_number": "07700900123"}, "to_number"),
        ({"body": "x" * 1601}, "body"),
        ({"body": ""}, "body"),
        ({"body": 0}, "body"),  # the schema says string: not an SMS saying "0" (the fuzzer)
        ({"sender": 14155550100}, "sender"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, texter, twilio_then_vonage, change, field):
    response = post(api, SEND, {**SMS, **change}, texter)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_console_provider_prints_the_message(api, texter, capsys):
    only_providers("sms-console")
    configure("sms-console", base_url="console://stdout", credentials={}, cost="0.0000")

    response = post(api, SEND, {**SMS, "sender": "ACME", "body": "a" * 161}, texter)

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["segments"] == 2
    printed = capsys.readouterr().out
    assert f"SMS {data['message_id']} from ACME to +447700900123 (2 parts)" in printed
