"""POST /api/v1/webhooks/{provider}/: each vendor's signature scheme, events recorded once
against the ledger row of the call that sent the message.

Messages are sent through the real endpoint first (vendors faked with respx in their
documented formats); webhooks are signed here exactly as each vendor documents it.
"""

import base64
import json
from urllib.parse import urlencode

import httpx
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ec

from apps.integrations.sms.providers.twilio import request_signature
from apps.ledger.models import LedgerEntry
from apps.messaging.models import DeliveryEvent, SentMessage
from tests.integrations.email.conftest import MESSAGE
from tests.integrations.email.vendor_answers import (
    MAILGUN_QUEUED,
    POSTMARK_OK,
    SENDGRID_ACCEPTED_HEADERS,
)
from tests.integrations.sms.conftest import SMS
from tests.integrations.sms.vendor_answers import TWILIO_CREATED, TWILIO_SID
from tests.messaging.webhooks import (
    MAILGUN_KEY,
    MAILGUN_URL,
    SENDGRID_URL,
    mailgun_event,
    public_key_b64,
    sendgrid_events,
    sendgrid_signed,
    webhook,
)
from tests.support.calls import configure, only_providers, paying_client, post

pytestmark = pytest.mark.django_db

POSTMARK_URL, TWILIO_URL = "https://postmark.test", "https://twilio.test"


@pytest.fixture
def sender(db):
    """A client paying for email and SMS (the root conftest's `caller` pays for currency)."""
    return paying_client(("email.send", "0.0100"), ("sms.send", "0.0500"))


@pytest.fixture
def sendgrid_key():
    """SendGrid's key pair: it signs with the private half, we hold the public one."""
    return ec.generate_private_key(ec.SECP256R1())


def send_by(api, sender, slug: str, base_url: str, credentials: dict, answer, path: str):
    """One message sent through the endpoint by provider `slug`; its ledger row."""
    only_providers(slug)
    configure(slug, base_url=base_url, credentials=credentials)
    with respx.mock:
        respx.post(f"{base_url}{path}").mock(return_value=answer)
        url = "/api/v1/services/sms/send/" if slug == "twilio" else "/api/v1/services/email/send/"
        response = post(api, url, SMS if slug == "twilio" else MESSAGE, sender)
    assert response.status_code == 200, response.content
    return LedgerEntry.objects.get(request_id=response.json()["request_id"])


@pytest.fixture
def sendgrid_sent(api, sender, sendgrid_key):
    return send_by(
        api,
        sender,
        "sendgrid",
        SENDGRID_URL,
        {"api_key": "SG.k", "webhook_public_key": public_key_b64(sendgrid_key)},
        httpx.Response(202, headers=SENDGRID_ACCEPTED_HEADERS),
        "/v3/mail/send",
    )


def test_sendgrid_signed_events_are_recorded_against_the_calls_ledger_row(
    api, sendgrid_key, sendgrid_sent
):
    # given SendGrid reports the message processed, then delivered
    body = sendgrid_events(
        ("processed", "sg-event-1", 1795938290), ("delivered", "sg-event-2", 1795938300)
    )

    # when
    response = webhook(api, "sendgrid", body, sendgrid_signed(sendgrid_key, body))

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {"recorded": 2, "duplicates": 0}
    message = SentMessage.objects.get()
    assert message.ledger_entry == sendgrid_sent
    assert message.status == "delivered"
    events = list(message.events.values_list("event", "status", "recipient", "detail"))
    assert events == [
        ("processed", "accepted", "ann@example.org", ""),
        ("delivered", "delivered", "ann@example.org", "250 OK"),
    ]


def test_a_repeated_delivery_records_nothing_twice(api, sendgrid_key, sendgrid_sent):
    # given the events were recorded once
    body = sendgrid_events(("delivered", "sg-event-2", 1795938300))
    webhook(api, "sendgrid", body, sendgrid_signed(sendgrid_key, body))

    # when SendGrid retries the same batch, with one new event in it
    again = sendgrid_events(
        ("delivered", "sg-event-2", 1795938300), ("open", "sg-event-3", 1795938400)
    )
    response = webhook(api, "sendgrid", again, sendgrid_signed(sendgrid_key, again))

    # then
    assert response.json() == {"recorded": 1, "duplicates": 1}
    assert DeliveryEvent.objects.count() == 2
    assert SentMessage.objects.get().status == "opened"


def test_a_late_event_does_not_move_the_status_back(api, sendgrid_key, sendgrid_sent):
    body = sendgrid_events(("delivered", "sg-2", 1795938300), ("deferred", "sg-1", 1795938100))

    webhook(api, "sendgrid", body, sendgrid_signed(sendgrid_key, body))

    assert SentMessage.objects.get().status == "delivered"


@pytest.mark.parametrize("forgery", ["other-key", "tampered-body", "no-signature", "garbage"])
def test_a_forged_sendgrid_webhook_is_refused(api, sendgrid_key, sendgrid_sent, forgery):
    # given
    body = sendgrid_events(("delivered", "sg-event-2", 1795938300))
    headers = sendgrid_signed(sendgrid_key, body)
    if forgery == "other-key":
        headers = sendgrid_signed(ec.generate_private_key(ec.SECP256R1()), body)
    elif forgery == "tampered-body":
        body = body.replace(b"delivered", b"bounce")
    elif forgery == "no-signature":
        headers = {}
    else:
        headers["X-Twilio-Email-Event-Webhook-Signature"] = "not base64!"

    # when
    response = webhook(api, "sendgrid", body, headers)

    # then
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert (problem["type"], problem["status"]) == ("/problems/invalid-signature", 401)
    assert problem["request_id"] == response["X-Request-ID"]
    assert not DeliveryEvent.objects.exists()
    assert SentMessage.objects.get().status == "accepted"


def mailgun_send(api, sender):
    return send_by(
        api,
        sender,
        "mailgun",
        MAILGUN_URL,
        {"api_key": "key-1", "domain": "mg.example.com", "webhook_signing_key": MAILGUN_KEY},
        httpx.Response(200, json=MAILGUN_QUEUED),
        "/v3/mg.example.com/messages",
    )


def test_mailgun_signed_event_is_recorded(api, sender):
    # given
    entry = mailgun_send(api, sender)
    message_id = "20261129072501.1.4A2D@mg.example.com"

    # when
    response = webhook(api, "mailgun", mailgun_event("mg-1", "failed", message_id), {})

    # then a permanent failure is a bounce, with the reason
    assert response.status_code == 200, response.content
    event = DeliveryEvent.objects.get()
    assert (event.sent_message.ledger_entry, event.status, event.detail) == (
        entry,
        "bounced",
        "No such mailbox",
    )


def test_a_mailgun_event_signed_with_another_key_is_refused(api, sender):
    mailgun_send(api, sender)
    body = mailgun_event("mg-1", "delivered", "x@mg.example.com", key="someone-elses-key")

    response = webhook(api, "mailgun", body, {})

    assert response.status_code == 401
    assert not DeliveryEvent.objects.exists()


def test_an_event_that_arrives_before_the_ledger_row_is_linked_when_it_is_written(api, sender):
    # given the provider row exists with its signing key, and the event comes first
    configure(
        "mailgun",
        base_url=MAILGUN_URL,
        credentials={
            "api_key": "k",
            "domain": "mg.example.com",
            "webhook_signing_key": MAILGUN_KEY,
        },
    )
    message_id = "20261129072501.1.4A2D@mg.example.com"
    webhook(api, "mailgun", mailgun_event("mg-9", "delivered", message_id), {})
    assert DeliveryEvent.objects.get().sent_message is None

    # when the call that sent it is recorded
    entry = mailgun_send(api, sender)

    # then
    message = SentMessage.objects.get()
    assert (message.ledger_entry, message.status) == (entry, "delivered")
    assert DeliveryEvent.objects.get().sent_message == message


POSTMARK_DELIVERY = {
    "RecordType": "Delivery",
    "ServerID": 23,
    "MessageStream": "outbound",
    "MessageID": POSTMARK_OK["MessageID"],
    "Recipient": "ann@example.org",
    "Tag": "",
    "DeliveredAt": "2026-11-29T12:25:06Z",
    "Details": "Test delivery webhook details",
    "Metadata": {},
}


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def postmark_sent(api, sender):
    return send_by(
        api,
        sender,
        "postmark",
        POSTMARK_URL,
        {"server_token": "pm", "webhook_username": "hook", "webhook_password": "pw-123"},
        httpx.Response(200, json=POSTMARK_OK),
        "/email",
    )


def test_postmark_events_with_the_basic_credentials_are_recorded_once(api, postmark_sent):
    body = json.dumps(POSTMARK_DELIVERY).encode()

    first = webhook(api, "postmark", body, basic("hook", "pw-123"))
    again = webhook(api, "postmark", body, basic("hook", "pw-123"))

    assert first.json() == {"recorded": 1, "duplicates": 0}
    assert again.json() == {"recorded": 0, "duplicates": 1}
    message = SentMessage.objects.get()
    assert (message.ledger_entry, message.status) == (postmark_sent, "delivered")


@pytest.mark.parametrize("headers", [basic("hook", "wrong"), basic("other", "pw-123"), {}])
def test_postmark_without_the_right_credentials_is_refused(api, postmark_sent, headers):
    response = webhook(api, "postmark", json.dumps(POSTMARK_DELIVERY).encode(), headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="postmark webhook"'
    assert not DeliveryEvent.objects.exists()


@pytest.fixture
def twilio_sent(api, sender):
    return send_by(
        api,
        sender,
        "twilio",
        TWILIO_URL,
        {"account_sid": TWILIO_SID, "auth_token": "tw-token"},
        httpx.Response(201, json=TWILIO_CREATED),
        f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
    )


def twilio_callback(status: str) -> list[tuple[str, str]]:
    return [
        ("AccountSid", TWILIO_SID),
        ("ApiVersion", "2010-04-01"),
        ("From", "+14155550100"),
        ("MessageSid", TWILIO_CREATED["sid"]),
        ("MessageStatus", status),
        ("SmsSid", TWILIO_CREATED["sid"]),
        ("SmsStatus", status),
        ("To", "+447700900123"),
    ]


def test_a_signed_twilio_status_callback_is_recorded(api, twilio_sent):
    # given Twilio signs the URL it calls and the form parameters with the auth token
    params = twilio_callback("delivered")
    url = "http://testserver/api/v1/webhooks/twilio/"
    headers = {"X-Twilio-Signature": request_signature("tw-token", url, params)}

    # when
    response = webhook(
        api, "twilio", urlencode(params).encode(), headers, "application/x-www-form-urlencoded"
    )

    # then
    assert response.status_code == 200, response.content
    message = SentMessage.objects.get()
    assert (message.ledger_entry, message.status) == (twilio_sent, "delivered")
    assert DeliveryEvent.objects.get().event_id == f"{TWILIO_CREATED['sid']}:delivered"


@pytest.mark.parametrize("signed_with", ["another-token", "another-url"])
def test_a_forged_twilio_callback_is_refused(api, twilio_sent, signed_with):
    params = twilio_callback("delivered")
    token, url = "tw-token", "http://testserver/api/v1/webhooks/twilio/"
    if signed_with == "another-token":
        token = "not-the-token"
    else:
        url = "https://attacker.example/api/v1/webhooks/twilio/"
    headers = {"X-Twilio-Signature": request_signature(token, url, params)}

    response = webhook(
        api, "twilio", urlencode(params).encode(), headers, "application/x-www-form-urlencoded"
    )

    assert response.status_code == 401
    assert SentMessage.objects.get().status == "accepted"


def test_twilio_signatures_follow_twilios_documented_example():
    # The worked example of https://www.twilio.com/docs/usage/security
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"

    assert request_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_unknown_providers_and_providers_without_webhooks_are_404(api, sender):
    assert webhook(api, "nobody", b"{}", {}).status_code == 404
    response = webhook(api, "vonage", b"{}", {})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_webhook_without_a_configured_secret_is_503_so_the_vendor_retries(api, sender):
    configure("sendgrid", base_url=SENDGRID_URL, credentials={"api_key": "SG.k"})

    response = webhook(api, "sendgrid", b"[]", {})

    assert response.status_code == 503
    assert "webhook_public_key" in response.json()["detail"]


def test_a_provider_repeating_a_message_id_never_costs_the_ledger_row(api, sender):
    # given a provider that answers two sends with the same message id
    first = send_by(
        api,
        sender,
        "postmark",
        POSTMARK_URL,
        {"server_token": "pm"},
        httpx.Response(200, json=POSTMARK_OK),
        "/email",
    )

    # when
    second = send_by(
        api,
        sender,
        "postmark",
        POSTMARK_URL,
        {"server_token": "pm"},
        httpx.Response(200, json=POSTMARK_OK),
        "/email",
    )

    # then both calls are in the ledger; the message id stays with the first
    assert first.pk != second.pk
    assert SentMessage.objects.get().ledger_entry == first


def test_the_openapi_document_has_the_webhook_and_the_messaging_methods(api):
    document = api.get("/api/schema/?format=json").json()

    assert "post" in document["paths"]["/api/v1/webhooks/{provider}/"]
    for path in ("/api/v1/services/email/send/", "/api/v1/services/sms/send/"):
        assert "post" in document["paths"][path]
    assert "attachments" in document["components"]["schemas"]["EmailSendRequest"]["properties"]
