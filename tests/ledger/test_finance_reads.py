"""The finance reads of issue #18 and the first-hour fixes of #14 (items 3 and 6): totals
when nothing is grouped, summaries over any range from the rollup and the rows together,
filters resolved to ids in a fixed number of queries, and API keys shown without their hash."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Client, ClientApiKey
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import LedgerFilters, ledger_rows
from apps.ledger.summary import split_by_days
from tests import factories
from tests.factories import call_row
from tests.ledger.finance import expected_summary, summary_by_group

pytestmark = pytest.mark.django_db

NOV = datetime(2026, 11, 1, tzinfo=UTC)


def instant(text: str | None) -> datetime | None:
    """A filter's value as the API reads it (the accounting time zone is UTC here)."""
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=UTC)


def totals_of(expected: dict) -> dict:
    (line,) = expected.values()
    return line


@pytest.mark.parametrize(
    "params",
    [
        {},  # the rollup alone
        {"created_after": "2026-11-01", "created_before": "2026-12-01"},  # whole days
        {"created_after": "2026-11-03T06:00Z", "created_before": "2026-11-20T18:30Z"},  # + edges
        {"kind": "refund"},  # the rows alone
    ],
)
def test_the_summary_without_groups_is_one_line_of_totals(finance, month_of_calls, params):
    # when
    body = finance.get("/api/v1/ledger/summary/", params).json()

    # then
    after, before = instant(params.get("created_after")), instant(params.get("created_before"))
    where = {"kind": params["kind"]} if "kind" in params else {}
    expected = totals_of(expected_summary([], after=after, before=before, **where))
    assert body["group_by"] == []
    assert body["results"] == [expected]
    assert body["totals"] == expected


def test_totals_of_nothing_are_one_line_of_zeros(finance):
    body = finance.get("/api/v1/ledger/summary/", {"client": "nobody"}).json()

    zeros = {"calls": 0, "cost": "0.0000", "revenue": "0.0000", "margin": "0.0000"}
    assert body["results"] == [zeros]
    assert body["totals"] == zeros


@pytest.mark.parametrize(
    ("group_by", "params", "where"),
    [
        (["provider"], {}, {}),
        (["day", "client"], {"status": "succeeded"}, {"status": "succeeded"}),
        (["client"], {"status": "succeeded", "channel": "http"}, {"channel": "http"}),
        (["method"], {"channel": "http"}, {"channel": "http"}),
        (["day"], {"client": "acme"}, {}),
    ],
)
def test_a_range_off_day_boundaries_sums_whole_days_and_partial_edges(
    finance, month_of_calls, group_by, params, where
):
    # given a range from 06:00 on the 3rd to 18:30 on the 20th
    after, before = datetime(2026, 11, 3, 6, tzinfo=UTC), datetime(2026, 11, 20, 18, 30, tzinfo=UTC)

    # when
    response = finance.get(
        "/api/v1/ledger/summary/",
        {
            "group_by": ",".join(group_by),
            "created_after": after.isoformat(),
            "created_before": before.isoformat(),
            **params,
        },
    )

    # then
    assert response.status_code == 200
    if "client" in params:
        where["client_id"] = Client.objects.get(slug="acme").pk
    expected = expected_summary(group_by, after=after, before=before, **where)
    assert summary_by_group(response.json()) == expected
    assert expected  # the range holds rows, at its edges too


def test_a_range_is_split_into_its_whole_days_and_its_edges():
    # given
    after, before = datetime(2026, 11, 3, 6, tzinfo=UTC), datetime(2026, 11, 20, 18, 30, tzinfo=UTC)

    # when
    whole, edges = split_by_days(LedgerFilters(created_after=after, created_before=before))
    within_a_day, rows_only = split_by_days(
        LedgerFilters(created_after=after, created_before=datetime(2026, 11, 3, 9, tzinfo=UTC))
    )

    # then
    assert whole is not None
    assert (whole.created_after, whole.created_before) == (
        datetime(2026, 11, 4, tzinfo=UTC),
        datetime(2026, 11, 20, tzinfo=UTC),
    )
    assert [(e.created_after, e.created_before) for e in edges] == [
        (after, datetime(2026, 11, 4, tzinfo=UTC)),
        (datetime(2026, 11, 20, tzinfo=UTC), before),
    ]
    assert within_a_day is None
    assert len(rows_only) == 1


def test_a_client_is_found_by_its_id_then_read_in_one_query(month_of_calls):
    # when
    with CaptureQueriesContext(connection) as queries:
        rows = list(ledger_rows(filters=LedgerFilters(client="acme", created_after=NOV)))

    # then: the slug, then the page; the ledger is never joined to match a slug
    assert len(queries) == 2
    page_sql = queries[1]["sql"]
    assert "ledger_ledgerentry" in page_sql
    assert '"accounts_client"."slug" =' not in page_sql
    assert rows and {row.client.slug for row in rows} == {"acme"}


def test_a_client_with_another_filter_is_probed_once_before_its_page(month_of_calls):
    # when
    with CaptureQueriesContext(connection) as queries:
        list(ledger_rows(filters=LedgerFilters(client="acme", method="currency.convert")))

    # then: the slug; how many rows the client has (at most SMALL_CLIENT_ROWS + 1 read);
    # the page
    assert len(queries) == 3
    assert "OFFSET 2000" in queries[1]["sql"]


def test_an_unknown_client_reads_no_ledger_row(finance, month_of_calls, django_assert_num_queries):
    with CaptureQueriesContext(connection) as queries:
        response = finance.get("/api/v1/ledger/", {"client": "nobody"})

    assert response.json()["results"] == []
    assert not [q for q in queries if "ledger_ledgerentry" in q["sql"]]


def test_the_list_and_summary_read_the_ledger_once(finance, month_of_calls):
    # given a range off day boundaries: the rows at both edges, the whole days in between
    params = {"created_after": "2026-11-03T06:00Z", "created_before": "2026-11-20T18:30Z"}

    # when
    with CaptureQueriesContext(connection) as listed:
        finance.get("/api/v1/ledger/", {**params, "client": "acme", "page_size": 3})
    with CaptureQueriesContext(connection) as summed:
        finance.get("/api/v1/ledger/summary/", {**params, "group_by": "provider"})

    # then
    assert len([q for q in listed if "ledger_ledgerentry" in q["sql"]]) == 1
    assert len([q for q in summed if "ledger_ledgerentry" in q["sql"]]) == 2  # two edges
    assert len([q for q in summed if "ledger_ledgerday" in q["sql"]]) == 1


@pytest.fixture
def keyed_call():
    acme = factories.ClientFactory(slug="acme")
    _, _ = ClientApiKey.objects.create_key(client=acme, name="billing-batch")
    key = ClientApiKey.objects.get(client=acme)
    return key, call_row(acme, NOV, api_key=key, request_id="req-keyed")


def test_the_ledger_shows_a_key_by_prefix_and_name_never_its_hash(finance, keyed_call):
    # given
    key, _ = keyed_call

    # when
    listed = finance.get("/api/v1/ledger/")
    exported = b"".join(finance.get("/api/v1/ledger/export.csv").streaming_content)
    summary = finance.get("/api/v1/ledger/summary/", {"group_by": "client"})

    # then
    (row,) = listed.json()["results"]
    assert row["api_key"] == {"prefix": key.prefix, "name": "billing-batch"}
    for body in (listed.content, exported, summary.content):
        assert key.hashed_key.encode() not in body
        assert key.pk.encode() not in body  # the stored id is prefix.hash
    (exported_row,) = csv.DictReader(io.StringIO(exported.decode()))
    assert exported_row["request_id"] == "req-keyed"


def test_the_list_filters_by_a_keys_prefix(finance, keyed_call):
    # given another key of the same client, with a call of its own
    key, keyed = keyed_call
    _, _ = ClientApiKey.objects.create_key(client=keyed.client, name="other")
    call_row(keyed.client, NOV, api_key=ClientApiKey.objects.get(name="other"))

    # when
    rows = finance.get("/api/v1/ledger/", {"api_key": key.prefix}).json()["results"]
    unknown = finance.get("/api/v1/ledger/", {"api_key": "nokey123"}).json()["results"]

    # then
    assert [row["request_id"] for row in rows] == ["req-keyed"]
    assert unknown == []
    assert LedgerEntry.objects.count() == 2
