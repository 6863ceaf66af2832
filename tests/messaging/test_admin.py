"""Ops find a message by its request id and see what became of it; nobody edits it."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.ledger.models import LedgerEntry
from apps.messaging.models import DeliveryEvent, SentMessage
from apps.messaging.services import delivery_events_record
from apps.messaging.webhooks.base import DeliveryUpdate
from tests import factories
from tests.integrations.email.conftest import MESSAGE
from tests.support.calls import configure, only_providers, paying_client, post

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


def test_searches_compare_ids_as_stored_so_an_index_can_serve_them(admin_client):
    # given a message and a delivery event for it
    entry = LedgerEntry.objects.create(
        request_id="Req-7F3C", client=factories.ClientFactory(), price=0, cost=0
    )
    SentMessage.objects.create(
        ledger_entry=entry, service="email", provider="sendgrid", message_id="Msg-ABC"
    )
    DeliveryEvent.objects.create(
        provider="sendgrid",
        event_id="Evt-1",
        message_id="Msg-ABC",
        event="delivered",
        status="delivered",
        occurred_at=datetime(2026, 11, 29, 12, tzinfo=UTC),
    )

    # when ops paste the ids
    with CaptureQueriesContext(connection) as queries:
        by_request = admin_client.get("/admin/messaging/sentmessage/", {"q": "Req-7F3C"})
        by_message = admin_client.get("/admin/messaging/sentmessage/", {"q": "Msg-ABC"})
        events = admin_client.get("/admin/messaging/deliveryevent/", {"q": "Msg-ABC"})

    # then each finds its row by `= id`, not UPPER(id) = UPPER(...), which reads every row
    assert [m.message_id for m in by_request.context["cl"].result_list] == ["Msg-ABC"]
    assert [m.message_id for m in by_message.context["cl"].result_list] == ["Msg-ABC"]
    assert [e.event_id for e in events.context["cl"].result_list] == ["Evt-1"]
    searches = [
        q["sql"]
        for q in queries.captured_queries
        if "Msg-ABC" in q["sql"] or "Req-7F3C" in q["sql"]
    ]
    assert searches and not any("UPPER(" in sql for sql in searches)


def test_a_message_id_search_has_an_index_of_its_own():
    # the unique (provider, message_id) index cannot serve a search by message id alone
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'messaging_sentmessage'")
        definitions = [d for (d,) in cursor.fetchall()]
    assert [d for d in definitions if d.endswith("USING btree (message_id)")]


def test_a_message_whose_ledger_month_was_archived_stays_listed(admin_client):
    # given a message whose ledger row's month ledger_archive took (the message keeps its id)
    SentMessage.objects.create(
        ledger_entry_id=987654321, service="email", provider="sendgrid", message_id="Msg-OLD"
    )

    # when
    listing = admin_client.get("/admin/messaging/sentmessage/")

    # then it is listed, by its ledger row's id
    assert [m.message_id for m in listing.context["cl"].result_list] == ["Msg-OLD"]
    assert "row 987654321 (archived)" in listing.content.decode()
