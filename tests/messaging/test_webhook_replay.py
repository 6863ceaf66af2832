"""A captured webhook cannot be played again: vendors' signed timestamps are held to a window
(GATEWAY_WEBHOOK_TOLERANCE_S) and each Mailgun token is let in once.

Mailgun signs only `timestamp + token`, not the events: without these checks one captured
signature would carry any forged event, for ever.
"""

import json
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from apps.messaging.models import DeliveryEvent, WebhookToken
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
from tests.support.calls import configure

pytestmark = pytest.mark.django_db

MESSAGE_ID = "20261129072501.1.4A2D@mg.example.com"
TOKEN = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"  # 50 characters, as Mailgun's


@pytest.fixture
def mailgun(db):
    return configure(
        "mailgun",
        base_url=MAILGUN_URL,
        credentials={
            "api_key": "k",
            "domain": "mg.example.com",
            "webhook_signing_key": MAILGUN_KEY,
        },
    )


def forged_with_signature_of(captured: bytes, event_id: str, event: str) -> bytes:
    """Another body carrying the signature object of a captured Mailgun POST."""
    body = json.loads(captured)
    body["event-data"]["id"], body["event-data"]["event"] = event_id, event
    return json.dumps(body).encode()


def assert_refused_as_bad_signature(response) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/invalid-signature"


def test_a_fresh_mailgun_webhook_is_accepted(api, mailgun):
    # given
    body = mailgun_event("mg-1", "delivered", MESSAGE_ID, token=TOKEN)

    # when
    response = webhook(api, "mailgun", body, {})

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {"recorded": 1, "duplicates": 0}
    assert WebhookToken.objects.filter(provider="mailgun", token=TOKEN).exists()


def test_a_mailgun_token_is_accepted_once(api, mailgun):
    # given a delivered event was posted and recorded
    captured = mailgun_event("mg-1", "delivered", MESSAGE_ID, token=TOKEN)
    assert webhook(api, "mailgun", captured, {}).status_code == 200

    # when its signature is replayed, with the same body and with a forged one
    replayed = webhook(api, "mailgun", captured, {})
    forged = webhook(
        api, "mailgun", forged_with_signature_of(captured, "mg-forged", "complained"), {}
    )

    # then both are refused as a bad signature, and the forged event is not recorded
    assert_refused_as_bad_signature(replayed)
    assert_refused_as_bad_signature(forged)
    assert "used before" in forged.json()["detail"]
    assert list(DeliveryEvent.objects.values_list("event_id", flat=True)) == ["mg-1"]


@pytest.mark.parametrize("age_s", [310, 86_400, -310], ids=["just-stale", "a-day-old", "future"])
def test_a_mailgun_webhook_signed_outside_the_window_is_refused(api, mailgun, age_s):
    # given a correctly signed event whose timestamp is outside the 300 s window
    signed_at = str(int(time.time()) - age_s)
    body = mailgun_event("mg-1", "delivered", MESSAGE_ID, timestamp=signed_at)

    # when
    response = webhook(api, "mailgun", body, {})

    # then
    assert_refused_as_bad_signature(response)
    assert not DeliveryEvent.objects.exists()


def test_the_window_is_a_setting(api, mailgun, settings):
    # given
    settings.GATEWAY_WEBHOOK_TOLERANCE_S = 3600
    body = mailgun_event("mg-1", "delivered", MESSAGE_ID, timestamp=str(int(time.time()) - 1800))

    # when
    response = webhook(api, "mailgun", body, {})

    # then
    assert response.status_code == 200, response.content


def test_a_token_whose_request_failed_is_not_spent(api, mailgun):
    # given a signed POST whose events cannot be read (nothing was recorded)
    broken = json.loads(mailgun_event("mg-1", "delivered", MESSAGE_ID, token=TOKEN))
    del broken["event-data"]["id"]
    assert webhook(api, "mailgun", json.dumps(broken).encode(), {}).status_code == 400

    # when the vendor retries it, as it does after a failure, in its documented format
    response = webhook(
        api, "mailgun", mailgun_event("mg-1", "delivered", MESSAGE_ID, token=TOKEN), {}
    )

    # then
    assert response.status_code == 200, response.content


def test_expired_tokens_are_purged(api, mailgun):
    # given a token seen long ago, past its window
    WebhookToken.objects.create(
        provider="mailgun", token=TOKEN, expires_at=timezone.now() - timedelta(seconds=1)
    )

    # when another webhook arrives
    response = webhook(api, "mailgun", mailgun_event("mg-2", "opened", MESSAGE_ID), {})

    # then only the new token is kept
    assert response.status_code == 200, response.content
    assert list(WebhookToken.objects.exclude(token=TOKEN).values_list("provider", flat=True)) == [
        "mailgun"
    ]
    assert not WebhookToken.objects.filter(token=TOKEN).exists()


def test_a_sendgrid_webhook_signed_outside_the_window_is_refused(api, db):
    # given a batch correctly signed by SendGrid ten minutes ago
    key = ec.generate_private_key(ec.SECP256R1())
    configure(
        "sendgrid",
        base_url=SENDGRID_URL,
        credentials={"api_key": "SG.k", "webhook_public_key": public_key_b64(key)},
    )
    body = sendgrid_events(("delivered", "sg-event-2", int(time.time()) - 600))
    stale = sendgrid_signed(key, body, timestamp=str(int(time.time()) - 600))

    # when
    response = webhook(api, "sendgrid", body, stale)
    fresh = webhook(api, "sendgrid", body, sendgrid_signed(key, body))

    # then
    assert_refused_as_bad_signature(response)
    assert fresh.status_code == 200, fresh.content
