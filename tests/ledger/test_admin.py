"""The ledger admin: read-only, searchable by a pasted request id, no N+1 queries."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.ledger.models import LedgerEntry
from tests import factories
from tests.factories.ledger import ledger_entry

pytestmark = pytest.mark.django_db


def changelist_url() -> str:
    return reverse("admin:ledger_ledgerentry_changelist")


def test_changelist_and_detail_render(admin_client: HttpClient) -> None:
    # given
    entry = ledger_entry(factories.ClientFactory())

    # when
    listing = admin_client.get(changelist_url())
    detail = admin_client.get(reverse("admin:ledger_ledgerentry_change", args=[entry.pk]))

    # then
    assert listing.status_code == 200
    assert detail.status_code == 200
    assert "0.0090" in listing.content.decode()  # the margin


def test_pasted_request_id_finds_its_row_and_the_detail_shows_attempts(
    admin_client: HttpClient,
) -> None:
    # given
    client = factories.ClientFactory()
    wanted = ledger_entry(client, request_id="7f3c9a2e-51b4-4d0e-9c1a-8b2f6e4d3a10")
    ledger_entry(client, request_id="7f3c9a2e-51b4-4d0e-9c1a-8b2f6e4d3a11")
    ledger_entry(client, request_id="other")

    # when
    found = admin_client.get(changelist_url(), {"q": " 7f3c9a2e-51b4-4d0e-9c1a-8b2f6e4d3a10 "})
    detail = admin_client.get(reverse("admin:ledger_ledgerentry_change", args=[wanted.pk]))

    # then
    assert [e.pk for e in found.context["cl"].result_list] == [wanted.pk]
    html = detail.content.decode()
    assert "ReadTimeout" in html
    assert "timeout" in html and "2001" in html
    assert "&quot;strategy&quot;: &quot;priority&quot;" in html  # pretty-printed, escaped
    assert "<pre" in html


def test_a_request_id_search_compares_the_column_as_it_is_indexed(
    admin_client: HttpClient,
) -> None:
    # given
    wanted = ledger_entry(factories.ClientFactory(), request_id="Trace-7F3C")

    # when
    with CaptureQueriesContext(connection) as queries:
        found = admin_client.get(changelist_url(), {"q": "Trace-7F3C"})

    # then the row is found by `request_id = ...`, which the request_id index serves, not
    # by UPPER(request_id), which makes PostgreSQL read the whole ledger
    assert [e.pk for e in found.context["cl"].result_list] == [wanted.pk]
    searches = [
        q["sql"]
        for q in queries.captured_queries
        if "Trace-7F3C" in q["sql"] and 'FROM "ledger_ledgerentry"' in q["sql"]
    ]
    assert searches
    assert all('"ledger_ledgerentry"."request_id" = ' in sql for sql in searches)
    assert not any('UPPER("ledger_ledgerentry"."request_id"' in sql for sql in searches)


def test_client_slug_search_finds_the_clients_rows(admin_client: HttpClient) -> None:
    # given
    acme = factories.ClientFactory(slug="acme")
    ledger_entry(acme, request_id="a1")
    ledger_entry(factories.ClientFactory(slug="globex"), request_id="g1")

    # when
    found = admin_client.get(changelist_url(), {"q": "ACME"})

    # then
    assert [e.request_id for e in found.context["cl"].result_list] == ["a1"]


def test_filters_narrow_the_list(admin_client: HttpClient) -> None:
    # given
    client = factories.ClientFactory()
    ledger_entry(client, request_id="ok")
    ledger_entry(
        client,
        request_id="failed",
        status=LedgerEntry.Status.FAILED,
        provider="",
        http_status=503,
        channel=LedgerEntry.Channel.WS,
    )

    # when
    failed = admin_client.get(changelist_url(), {"status": "failed"})
    unserved = admin_client.get(changelist_url(), {"provider": "-"})
    served = admin_client.get(changelist_url(), {"provider": "sandbox", "service": "currency"})
    websocket = admin_client.get(changelist_url(), {"channel": "ws"})

    # then
    def ids(response: Any) -> list[str]:
        return [e.request_id for e in response.context["cl"].result_list]

    assert ids(failed) == ["failed"]
    assert ids(unserved) == ["failed"]
    assert ids(served) == ["ok"]
    assert ids(websocket) == ["failed"]


def test_a_month_is_a_range_on_the_index_and_date_parts_are_refused(
    admin_client: HttpClient,
) -> None:
    # given a row in November and one in October
    client = factories.ClientFactory()
    november = datetime(2026, 11, 10, 12, tzinfo=UTC)
    ledger_entry(client, request_id="november", created_at=november)
    ledger_entry(client, request_id="october", created_at=november - timedelta(days=31))

    # when the created filter's range asks for November, and a date part is typed in the URL
    month = admin_client.get(
        changelist_url(),
        {
            "created_at__gte": "2026-11-01 00:00:00+00:00",
            "created_at__lt": "2026-12-01 00:00:00+00:00",
        },
    )
    extract = admin_client.get(
        changelist_url(), {"created_at__year": "2026", "created_at__month": "11"}
    )

    # then the range finds November's row; EXTRACT over every row is refused
    assert [e.request_id for e in month.context["cl"].result_list] == ["november"]
    assert extract.status_code == 400


def test_ledger_cannot_be_added_changed_or_deleted(admin_client: HttpClient) -> None:
    # given
    entry = ledger_entry(factories.ClientFactory())
    change = reverse("admin:ledger_ledgerentry_change", args=[entry.pk])

    # when
    add = admin_client.get(reverse("admin:ledger_ledgerentry_add"))
    edit = admin_client.post(change, {"request_id": "forged", "price": "0"})
    delete = admin_client.post(
        reverse("admin:ledger_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    bulk_delete = admin_client.post(
        changelist_url(), {"action": "delete_selected", "_selected_action": [entry.pk]}
    )

    # then
    assert add.status_code == 403
    assert edit.status_code == 403
    assert delete.status_code == 403
    assert bulk_delete.status_code in (200, 302)  # "no action selected": not offered
    entry.refresh_from_db()
    assert entry.request_id == "req-0001"
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    assert 'name="request_id"' not in admin_client.get(change).content.decode()


def test_changelist_queries_do_not_grow_with_rows(
    admin_client: HttpClient, django_assert_max_num_queries: Any
) -> None:
    # given: 30 rows of 30 different clients
    now = timezone.now()
    for n in range(30):
        ledger_entry(
            factories.ClientFactory(),
            request_id=f"req-{n}",
            created_at=now - timedelta(minutes=n),
        )
    admin_client.get(changelist_url())  # warm the session and content types

    # when / then
    with django_assert_max_num_queries(8):
        response = admin_client.get(changelist_url())
    assert len(response.context["cl"].result_list) == 30


def test_detail_link_to_the_api_key(admin_client: HttpClient) -> None:
    # given
    client = factories.ClientFactory()
    factories.api_key_for(client, name="backend")
    entry = ledger_entry(client, api_key=client.api_keys.get())

    # when
    detail = admin_client.get(reverse("admin:ledger_ledgerentry_change", args=[entry.pk]))

    # then
    assert detail.status_code == 200
    assert "backend" in detail.content.decode()
