"""Every call inserts a ledger row, and every index of the ledger is one more insert: the
ledger keeps the indexes its readers use, and no other (issue #18)."""

import json
import re

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def ledger_indexes() -> dict[str, str]:
    """Each index's name and what follows `USING btree` in its definition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_ledgerentry'"
        )
        return {name: d.split(" USING btree ")[1] for name, d in cursor.fetchall()}


def unless(column: str, value: str) -> str:
    return f"WHERE (NOT (({column})::text = '{value}'::text))"


def test_the_ledger_has_exactly_the_indexes_its_reads_use():
    assert ledger_indexes() == {
        # on PostgreSQL partitioned by month: a unique key must hold created_at (ledger 0014);
        # a row is reversed once by LedgerReversal's primary key
        "ledger_ledgerentry_pkey": "(id, created_at)",
        "ledger_request_id": "(request_id)",  # a pasted request id, matched whole
        # each filter, then the rows' order with the cursor's tie-breaker
        "ledger_by_time": "(created_at, id)",
        "ledger_by_client": "(client_id, created_at, id)",
        "ledger_by_provider": "(provider, created_at, id)",
        "ledger_by_method": "(service, method, created_at, id)",
        "ledger_by_api_key": "(api_key_id, created_at, id)",
        # the rare values only: an ordinary call's row never enters these
        "ledger_by_status": "(status, created_at, id) " + unless("status", "succeeded"),
        "ledger_by_channel": "(channel, created_at, id) " + unless("channel", "http"),
        "ledger_by_kind": "(kind, created_at, id) " + unless("kind", "charge"),
        "ledger_provider_failures": "(provider, status, created_at, id) "
        + unless("status", "succeeded"),
        "ledger_free_calls": "(created_at, id) WHERE free_call",
        "ledger_by_staff": "(created_by_id) WHERE (created_by_id IS NOT NULL)",
    }


def test_the_rollup_has_one_bucket_per_day_client_method_provider_country_status_channel():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ledger_day_bucket_unique'"
        )
        (definition,) = cursor.fetchone()

    assert definition.endswith(
        "(day, client_id, service, method, provider, country, status, channel)"
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plans")
def test_the_admins_free_call_filter_reads_the_free_calls_index(admin_client: HttpClient):
    # given 60,000 paid calls and five free ones, the oldest rows
    client = factories.ClientFactory(slug="acme")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_ledgerentry (request_id, kind, client_id, service, method,
              provider, status, error_type, error_detail, cost, price, amount, currency,
              cached, free_call, attempts, routing, channel, country, reason, created_at)
            SELECT 'bulk-' || g, 'charge', %s, 'currency', 'latest_rates', 'fixer',
              'succeeded', '', '', 0.001, 0.01, -0.01, 'USD', false, g <= 5, '[]', '{}',
              'http', 'DE', '', now() - interval '1 second' * g
            FROM generate_series(1, 60000) g
            """,
            [client.pk],
        )
        cursor.execute("ANALYZE ledger_ledgerentry")

    # when
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(
            reverse("admin:ledger_ledgerentry_changelist"), {"free_call__exact": "1"}
        )
    page_sql = next(
        q["sql"] for q in queries.captured_queries if 'JOIN "accounts_client"' in q["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + page_sql)
        plan = cursor.fetchone()[0]

    # then the page is the free calls' own index, not a walk of ledger_by_time
    assert response.status_code == 200
    listed = [entry.request_id for entry in response.context["cl"].result_list]
    assert listed == [f"bulk-{n}" for n in range(1, 6)]
    used = set(re.findall(r'"Index Name": "([^"]+)"', json.dumps(plan)))
    assert {name for name in parent_indexes(used) if name.startswith("ledger_")} == {
        "ledger_free_calls"
    }, plan


def parent_indexes(names: set[str]) -> set[str]:
    """The ledger's own index of each index a plan names (a partition's index is one part of
    a partitioned index of the ledger's; apps.ledger.partitions)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(p.relname, c.relname) FROM pg_class c "
            "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid "
            "LEFT JOIN pg_class p ON p.oid = i.inhparent WHERE c.relname = ANY(%s)",
            [list(names)],
        )
        return {name for (name,) in cursor.fetchall()}
