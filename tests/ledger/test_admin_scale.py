"""The ledger admin on a big ledger: no COUNT(*) of the whole table, a bounded number of
queries, a search that resolves its term to ids, and plans that use the client index."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Client
from apps.ledger import admin_paging
from apps.ledger.models import LedgerEntry
from tests import factories
from tests.factories import call_row

pytestmark = pytest.mark.django_db

LEDGER = '"ledger_ledgerentry"'


def changelist_url() -> str:
    return reverse("admin:ledger_ledgerentry_changelist")


def ids(response: Any) -> list[str]:
    return [entry.request_id for entry in response.context["cl"].result_list]


def rows_for(client: Client, count: int, **fields: Any) -> list[LedgerEntry]:
    now = timezone.now()
    return [call_row(client, now - timedelta(minutes=n), **fields) for n in range(count)]


def bulk_rows(client: Client, count: int, *, minutes_apart: float = 1.0) -> None:
    """`count` call rows for the client, written in one INSERT…SELECT (for plan tests)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_ledgerentry (request_id, kind, client_id, service, method,
              provider, status, error_type, error_detail, cost, price, amount, currency,
              cached, free_call, attempts, routing, channel, country, reason, created_at)
            SELECT 'bulk-' || %s || '-' || g, 'charge', %s, 'currency', 'latest_rates',
              'fixer', 'succeeded', '', '', 0.001, 0.01, -0.01, 'USD', false, false, '[]',
              '{}', 'http', 'DE', '', now() - interval '1 minute' * (g * %s::float8)
            FROM generate_series(1, %s) g
            """,
            [client.slug, client.pk, minutes_apart, count],
        )


def indexes_led_by(cursor: Any, column: str, holding_client: int | None = None) -> set[str]:
    """The ledger's indexes led by `column`, with their parts on each month's partition that
    holds rows (of `holding_client`, if given): how a partition without them is read, the
    planner's choice for a handful of rows, does not matter."""
    cursor.execute(
        "SELECT tablename, indexname FROM pg_indexes "
        "WHERE tablename LIKE 'ledger\\_ledgerentry%%' AND indexdef LIKE %s",
        [f"%({column}%"],
    )
    names = set()
    for table, index in cursor.fetchall():
        of_client = "" if holding_client is None else f"WHERE client_id = {holding_client:d}"
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} {of_client})")  # noqa: S608
        if cursor.fetchone()[0] or table == "ledger_ledgerentry":
            names.add(index)
    return names


def ledger_counts(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and LEDGER in q["sql"]
    ]


@pytest.mark.parametrize(
    "params",
    [{}, {"status": "failed"}, {"client": "acme"}, {"q": "acme"}, {"q": "no-such-thing"}],
    ids=["unfiltered", "status", "client-filter", "search", "search-no-match"],
)
def test_the_list_never_counts_the_whole_ledger(
    admin_client: HttpClient, params: dict[str, str]
) -> None:
    # given
    acme = factories.ClientFactory(slug="acme")
    rows_for(acme, 3)
    rows_for(acme, 2, status=LedgerEntry.Status.FAILED, provider="")

    # when
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(changelist_url(), params)

    # then each count over the ledger stops at a LIMIT (Django's own would be a bare
    # `SELECT COUNT(*) FROM "ledger_ledgerentry"`, a scan of every row)
    assert response.status_code == 200
    for sql in ledger_counts(queries):
        assert re.search(r"LIMIT \d+\) subquery", sql), sql
    ledger_reads = [q["sql"] for q in queries.captured_queries if f"FROM {LEDGER}" in q["sql"]]
    assert ledger_reads
    assert not any("DISTINCT" in sql or "DATE_TRUNC" in sql.upper() for sql in ledger_reads)
    assert not any(f'UPPER({LEDGER}."' in sql for sql in ledger_reads)  # no icontains


@pytest.mark.parametrize(
    ("params", "most"),
    [({}, 6), ({"status": "failed", "client": "acme"}, 7), ({"q": "acme"}, 10)],
    ids=["unfiltered", "filtered", "searched"],
)
def test_changelist_queries_are_pinned(
    admin_client: HttpClient,
    django_assert_max_num_queries: Any,
    params: dict[str, str],
    most: int,
) -> None:
    # given 60 rows (more than a page) over 20 clients
    acme = factories.ClientFactory(slug="acme")
    rows_for(acme, 30, status=LedgerEntry.Status.FAILED, provider="")
    for _ in range(10):
        rows_for(factories.ClientFactory(), 3)
    admin_client.get(changelist_url())  # warm the session and content types

    # when / then: the session, its user, the catalog's two filter lists, a count that stops
    # at a LIMIT and the page (with clients joined); a filter by client adds the client's id,
    # a search the four lookups of its term (request id, clients, keys, providers)
    with django_assert_max_num_queries(most):
        response = admin_client.get(changelist_url(), params)
    assert len(response.context["cl"].result_list) == 30 if params else 50


def test_past_the_exact_limit_the_count_is_estimated_and_the_pages_capped(
    admin_client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given more rows than the paginator counts exactly (lowered from 10,000 to 100 here)
    monkeypatch.setattr(admin_paging, "EXACT_UP_TO", 100)
    bulk_rows(factories.ClientFactory(), 400)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_ledgerentry")

    # when
    first = admin_client.get(changelist_url())
    last = admin_client.get(changelist_url(), {"p": "2"})
    beyond = admin_client.get(changelist_url(), {"p": "3"})

    # then the page says "about" the planner's estimate and offers the newest 100 rows only
    html = first.content.decode()
    assert re.search(r"about 4\d\d ledger entries", html), html
    assert "the newest 2 pages are shown" in html
    assert len(last.context["cl"].result_list) == 50
    assert beyond.status_code == 302 and "e=1" in beyond["Location"]


def test_a_small_result_is_counted_exactly(admin_client: HttpClient) -> None:
    # given
    rows_for(factories.ClientFactory(slug="acme"), 3)

    # when
    html = admin_client.get(changelist_url(), {"q": "acme"}).content.decode()

    # then
    assert "3 results" in html and "about" not in html


def test_search_resolves_keys_clients_by_name_and_providers(admin_client: HttpClient) -> None:
    # given
    acme = factories.ClientFactory(slug="acme", name="Acme Rockets Ltd")
    key = factories.api_key_for(acme, name="backend")
    prefix = key.partition(".")[0]
    keyed = call_row(acme, timezone.now(), api_key=acme.api_keys.get(), request_id="keyed")
    call_row(acme, timezone.now(), provider="ecb", request_id="by-ecb")
    call_row(factories.ClientFactory(slug="globex"), timezone.now(), request_id="globex-1")
    ecb_fans = factories.ClientFactory(slug="watchers", name="ECB Watchers")
    call_row(ecb_fans, timezone.now(), provider="fixer", request_id="watching")

    # when
    def found(term: str) -> list[str]:
        return sorted(ids(admin_client.get(changelist_url(), {"q": term})))

    # then
    assert found(prefix) == [keyed.request_id]
    assert found(key) == [keyed.request_id]  # the whole key, as a client would paste it
    assert found("rockets") == ["by-ecb", "keyed"]  # part of the client's name
    assert found("ECB") == ["by-ecb"]  # a provider's slug, matched whole: not ECB Watchers
    assert found("watchers") == ["watching"]  # a client's slug
    assert found("Rocket Science") == []
    assert "API key" in admin_client.get(changelist_url()).content.decode()  # the help text


def test_client_filter_is_a_box_not_a_list_of_every_client(admin_client: HttpClient) -> None:
    # given
    rows_for(factories.ClientFactory(slug="acme"), 2)
    rows_for(factories.ClientFactory(slug="globex"), 1)

    # when
    acme = admin_client.get(changelist_url(), {"client": "ACME", "status": "succeeded"})
    unknown = admin_client.get(changelist_url(), {"client": "initech"})

    # then
    assert len(ids(acme)) == 2
    assert ids(unknown) == []
    html = acme.content.decode()
    assert 'name="client" value="ACME"' in html
    assert 'type="hidden" name="status" value="succeeded"' in html  # kept when retyped
    assert "globex" not in html  # no dropdown listing the clients


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plans")
@pytest.mark.parametrize("params", [{"q": "tiny"}, {"client": "tiny"}], ids=["search", "filter"])
def test_a_small_clients_rows_are_read_through_the_client_index(
    admin_client: HttpClient, params: dict[str, str]
) -> None:
    # given a ledger where one client holds nearly every row and another three
    huge = factories.ClientFactory(slug="huge")
    bulk_rows(huge, 60_000, minutes_apart=0.01)
    tiny = factories.ClientFactory(slug="tiny")
    bulk_rows(tiny, 3, minutes_apart=9000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_ledgerentry")

    # when
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(changelist_url(), params)
    page_sql = next(  # the page's rows, with their clients joined
        q["sql"] for q in queries.captured_queries if 'JOIN "accounts_client"' in q["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + page_sql)
        plan = cursor.fetchone()[0]
        client_indexes = indexes_led_by(cursor, "client_id")
        time_indexes = indexes_led_by(cursor, "created_at", holding_client=huge.pk)

    # then the page is read from an index led by client_id, not by walking created_at
    # backwards through the other client's 60,000 rows
    assert len(ids(response)) == 3
    used = set(re.findall(r'"Index Name": "([^"]+)"', json.dumps(plan)))
    assert used & client_indexes, plan
    assert not used & time_indexes, plan


def test_the_list_is_newest_first_whatever_the_url_asks(admin_client: HttpClient) -> None:
    # given
    acme = factories.ClientFactory(slug="acme")
    call_row(acme, timezone.now() - timedelta(hours=1), request_id="older", price=Decimal("1"))
    call_row(acme, timezone.now(), request_id="newer", price=Decimal("9"))

    # when: sorted by the price column (o=9) by a hand-made URL; no header offers it
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(changelist_url(), {"o": "9"})

    # then
    assert ids(response) == ["newer", "older"]
    pages = [q["sql"] for q in queries.captured_queries if 'JOIN "accounts_client"' in q["sql"]]
    assert pages and all("price" not in sql.split("ORDER BY")[1] for sql in pages)
    assert 'class="sortable' not in response.content.decode()
