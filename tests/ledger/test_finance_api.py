"""The finance API: summaries equal sums of the rows, filters and cursor pages, the streamed
export, and clients' own usage."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connections
from django.test import AsyncClient, override_settings

from apps.accounts.models import Client
from apps.ledger.models import LedgerDay, LedgerEntry
from apps.ledger.rollup import ledger_rollup_rebuild
from tests import factories
from tests.factories import call_row, staff_user
from tests.ledger.finance import expected_summary, summary_by_group

pytestmark = pytest.mark.django_db

NOV = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_month_by_provider_and_day_equals_the_sums_of_the_rows(finance, month_of_calls):
    # when
    response = finance.get(
        "/api/v1/ledger/summary/",
        {"group_by": "provider,day", "created_after": "2026-11-01", "created_before": "2026-12-01"},
    )

    # then
    assert response.status_code == 200
    body = response.json()
    expected = expected_summary(
        ["provider", "day"], after=NOV, before=datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert summary_by_group(body) == expected
    assert body["totals"]["calls"] == sum(line["calls"] for line in expected.values())
    refunded_day = body["results"][[r["day"] for r in body["results"]].index("2026-11-05")]
    assert refunded_day["provider"] == "fixer"  # a refund counts against the refunded call


@pytest.mark.parametrize(
    ("group_by", "params", "where"),
    [
        (["client"], {}, {}),
        (["service", "method"], {}, {}),
        (["country", "provider"], {"client": "acme"}, {}),
        # status filter and mid-day bounds: answered from the rows, not the daily rollup
        (["provider"], {"status": "failed"}, {"status": "failed"}),
        (["day"], {"created_after": "2026-11-04T12:00:00Z"}, {}),
    ],
)
def test_every_grouping_equals_the_sums_of_the_rows(
    finance, month_of_calls, group_by, params, where
):
    # when
    response = finance.get("/api/v1/ledger/summary/", {"group_by": ",".join(group_by), **params})

    # then
    assert response.status_code == 200
    if "client" in params:
        where["client_id"] = Client.objects.get(slug="acme").pk
    after = datetime(2026, 11, 4, 12, tzinfo=UTC) if "created_after" in params else None
    assert summary_by_group(response.json()) == expected_summary(group_by, after=after, **where)


@override_settings(ACCOUNTING_TIME_ZONE="America/New_York")
def test_days_are_accounting_days(finance):
    # given a call at 02:00 UTC on 2 Nov, still 1 Nov in New York
    call_row(factories.ClientFactory(), datetime(2026, 11, 2, 2, tzinfo=UTC))

    # when
    by_rollup = finance.get("/api/v1/ledger/summary/", {"group_by": "day"}).json()
    by_rows = finance.get("/api/v1/ledger/summary/", {"group_by": "day", "status": "succeeded"})

    # then
    assert [line["day"] for line in by_rollup["results"]] == ["2026-11-01"]
    assert [line["day"] for line in by_rows.json()["results"]] == ["2026-11-01"]


def test_the_rollup_rebuilt_from_the_rows_equals_the_one_kept_as_calls_were_recorded(
    month_of_calls,
):
    # given
    kept = set(LedgerDay.objects.values_list("day", "client_id", "provider", "calls", "revenue"))

    # when
    ledger_rollup_rebuild()

    # then
    rebuilt = LedgerDay.objects.values_list("day", "client_id", "provider", "calls", "revenue")
    assert set(rebuilt) == kept


def test_an_unknown_group_is_a_validation_problem(finance):
    response = finance.get("/api/v1/ledger/summary/", {"group_by": "provider,planet"})

    assert response.status_code == 400
    assert "planet" in str(response.json()["errors"])


def test_the_list_filters_and_pages_with_a_cursor(finance, month_of_calls):
    # given
    expected = list(
        LedgerEntry.objects.filter(provider="fixer", method="latest_rates")
        .order_by("-created_at", "-id")
        .values_list("request_id", flat=True)
    )

    # when
    seen: list[str] = []
    url: str | None = "/api/v1/ledger/?provider=fixer&method=currency.latest_rates&page_size=4"
    while url:
        page = finance.get(url).json()
        seen += [row["request_id"] for row in page["results"]]
        url = page["next"]

    # then
    assert seen == expected
    assert len(expected) > 4


def test_a_row_shows_what_finance_needs(finance):
    # given
    entry = call_row(factories.ClientFactory(slug="acme"), NOV, request_id="req-find-me")

    # when
    rows = finance.get("/api/v1/ledger/", {"request_id": "req-find-me"}).json()["results"]

    # then
    assert len(rows) == 1
    row = rows[0]
    assert (row["client"], row["provider"], row["price"], row["cost"], row["margin"]) == (
        "acme",
        "fixer",
        "0.0100",
        "0.0010",
        "0.0090",
    )
    assert row["amount"] == "-0.0100"
    assert row["created_at"].startswith(entry.created_at.date().isoformat())


@pytest.fixture
def batches_of_5(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.ledger import api

    monkeypatch.setattr(api, "EXPORT_BATCH_SIZE", 5)


def test_the_export_streams_rows_as_they_are_read(finance, month_of_calls, batches_of_5):
    # given
    client = Client.objects.get(slug="acme")
    expected_count = LedgerEntry.objects.filter(created_at__gte=NOV).count()

    # when the first chunks are read...
    response = finance.get("/api/v1/ledger/export.csv", {"created_after": "2026-11-01"})
    chunks = iter(response.streaming_content)
    first = next(chunks) + next(chunks)
    # ...a call recorded now, after every row so far, still reaches the export being read
    late = call_row(client, datetime(2027, 1, 1, tzinfo=UTC), request_id="req-late")
    rest = b"".join(chunks)

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO((first + rest).decode())))
    assert len(rows) == expected_count + 1
    assert rows[-1]["request_id"] == late.request_id
    assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)
    refund = next(r for r in rows if r["kind"] == "refund")
    assert (refund["amount"], refund["reason"]) == ("0.0300", "outage credit")


def test_the_export_is_read_in_batches(finance, month_of_calls, batches_of_5):
    # given batches of 5 rows
    total = LedgerEntry.objects.count()

    # when
    response = finance.get("/api/v1/ledger/export.csv")
    chunks = list(response.streaming_content)

    # then: the header, then one chunk per batch, each a separate query
    assert len(chunks) == 1 + -(-total // 5)
    assert sum(chunk.count(b"\n") for chunk in chunks) == total + 1


def test_usage_shows_a_client_only_its_own_calls(api, month_of_calls):
    # given
    acme = Client.objects.get(slug="acme")
    key = factories.api_key_for(acme)

    # when
    response = api.get(
        "/api/v1/usage/",
        {"method": "currency.latest_rates", "created_after": "2026-11-01"},
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )

    # then
    assert response.status_code == 200
    rows = response.json()["results"]
    expected = LedgerEntry.objects.filter(
        client=acme, method="latest_rates", created_at__gte=NOV
    ).values_list("request_id", flat=True)
    assert {row["request_id"] for row in rows} == set(expected)
    assert rows and all("cost" not in row and "provider" not in row for row in rows)


def test_usage_never_reaches_another_clients_rows(api, month_of_calls):
    # given a client with no calls, and another's request id
    nobody = factories.ClientFactory(slug="nobody")
    other = LedgerEntry.objects.filter(client__slug="globex").first()

    # when
    response = api.get(
        "/api/v1/usage/",
        {"request_id": other.request_id},
        HTTP_AUTHORIZATION=f"Api-Key {factories.api_key_for(nobody)}",
    )

    # then
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_export_is_streamed_asynchronously(batches_of_5):
    # given finance and a dozen rows
    def given() -> None:
        staff_user("fiona", "finance")
        client = factories.ClientFactory(slug="acme")
        for n in range(12):
            call_row(client, NOV + timedelta(minutes=n))

    await sync_to_async(given)()
    http = AsyncClient()
    await http.aforce_login(await User.objects.aget(username="fiona"))

    # when
    response = await http.get("/api/v1/ledger/export.csv")

    # then: an async iterator (an ASGI server sends each chunk as it comes), all 12 rows
    assert response.is_async
    chunks = [chunk async for chunk in response.streaming_content]
    assert len(chunks) == 1 + 3  # the header, then batches of 5, 5 and 2
    assert b"".join(chunks).count(b"\n") == 13
    await sync_to_async(connections.close_all)()  # the test database can then be dropped
