"""Channels that cannot hand a PDF back refuse docs.html_to_pdf at once, before anything is
held or charged: Prefer: respond-async, Idempotency-Key, the message queue (the websocket:
test_docs_asgi.py)."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.accounts.models import Client
from apps.gateway.mq import DEAD_REASON
from apps.ledger.models import LedgerEntry
from apps.realtime.models import AsyncCall
from tests.integrations.docs.conftest import HTML_TO_PDF, INVOICE
from tests.support.mq import send, take


def refused(api, writer, **headers):
    return api.post(
        HTML_TO_PDF,
        json.dumps(INVOICE),
        content_type="application/json",
        headers={**writer.headers, **headers},
    )


def assert_nothing_charged(writer) -> None:
    client = Client.objects.get(pk=writer.client.pk)
    assert (client.balance, client.held) == (Decimal("0"), Decimal("0"))
    entry = LedgerEntry.objects.get()
    assert (entry.status, entry.price, entry.http_status) == ("rejected", Decimal("0"), 400)


@pytest.mark.django_db
def test_respond_async_is_refused_naming_why(api, writer, weasyprint_only):
    response = refused(api, writer, Prefer="respond-async")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "Prefer: respond-async" in response.json()["detail"]
    assert not AsyncCall.objects.exists()
    assert_nothing_charged(writer)


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Idempotency-Key"])
def test_an_idempotency_key_is_refused_naming_why(api, writer, weasyprint_only, header):
    response = refused(api, writer, **{header: "invoice-42"})

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert_nothing_charged(writer)


@pytest.mark.django_db(transaction=True)
def test_a_queued_call_is_dead_lettered_with_the_reason(writer, weasyprint_only, mq):
    send(mq, {"service": "docs", "method": "html_to_pdf", "payload": INVOICE, "client": "acme"})

    call_command("consume_calls", "--max-messages=1", "--idle-timeout=10")

    dead = take(mq.dead.name)
    assert dead.headers[DEAD_REASON].startswith("invalid call: docs.html_to_pdf answers")
    assert "not the mq channel" in dead.headers[DEAD_REASON]
    assert LedgerEntry.objects.get().channel == "mq"
    assert_nothing_charged(writer)
