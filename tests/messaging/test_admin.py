"""Ops find a message by its request id and see what became of it; nobody edits it."""

from datetime import UTC, datetime

import pytest

from apps.messaging.models import DeliveryEvent, SentMessage
from apps.messaging.services import delivery_events_record
from apps.messaging.webhooks.base import DeliveryUpdate
from tests.integrations.email.conftest import MESSAGE
from tests.messaging.helpers import configure, only_providers, paying_client, post

pytestmark = pytest.mark.django_db


def test_a_message_is_found_by_request_id_with_its_events(api, admin_client):
    # given a message sent through the endpoint, and one delivery event for it
    caller = paying_client(("email.send", "0.0100"))
    only_providers("email-console")
    configure("email-console", base_url="console://stdout", credentials={})
    request_id = post(api, "/api/v1/services/email/send/", MESSAGE, caller).json()["request_id"]
    message = SentMessage.objects.get()
    delivery_events_record(
        provider="email-console",
        updates=[
            DeliveryUpdate(
                event_id="e-1",
                message_id=message.message_id,
                event="delivered",
                status="delivered",
                occurred_at=datetime(2026, 11, 29, 12, tzinfo=UTC),
                recipient="ann@example.org",
            )
        ],
    )

    # when
    listing = admin_client.get("/admin/messaging/sentmessage/", {"q": request_id})
    detail = admin_client.get(f"/admin/messaging/sentmessage/{message.pk}/change/")

    # then
    assert listing.status_code == 200
    assert message.message_id in listing.content.decode()
    page = detail.content.decode()
    assert detail.status_code == 200
    assert "delivered" in page and "ann@example.org" in page
    assert admin_client.get("/admin/messaging/sentmessage/add/").status_code == 403
    assert admin_client.get("/admin/messaging/deliveryevent/").status_code == 200
    assert DeliveryEvent.objects.get().sent_message == message
