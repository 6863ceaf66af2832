"""The plan of a summary over all time, pinned on a year of daily buckets (issue #18: at 20
million ledger rows the all-time summary by client scanned all 3.2 million of them in
1.04 s). With the closed months built, it reads a bucket per client and month, and the days
of the open month only; the difference is shown on the same buckets without the months."""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Client
from apps.billing.models import Plan
from apps.ledger.models import LedgerDay, LedgerMonthClosed
from apps.ledger.months import ledger_months_close
from apps.ledger.selectors import LedgerFilters
from apps.ledger.summary import ledger_summary

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's"),
    pytest.mark.django_db,
]

CLIENTS = 150
FIRST_DAY, LAST_DAY = date(2025, 12, 1), date(2026, 12, 5)  # Dec 2025 .. 5 Dec 2026
DAYS = (LAST_DAY - FIRST_DAY).days + 1
COMBOS = 4  # two methods x two providers a day, for every client
ALL_TIME = LedgerFilters(
    created_after=datetime(2020, 1, 1, 5, tzinfo=UTC),
    created_before=datetime(2030, 1, 1, 5, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def year_of_days(django_db_setup: None, django_db_blocker: Any) -> Iterator[list[int]]:
    """A daily bucket per client, day, method and provider from December 2025 on, ANALYZEd;
    one set for the module, rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        plan = Plan.objects.create(slug="rollup-plans", name="Rollup plans")
        clients = Client.objects.bulk_create(
            Client(slug=f"r-{n:03d}", name=f"R {n}", country="DE", plan=plan)
            for n in range(CLIENTS)
        )
        ids = [c.pk for c in clients]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO ledger_ledgerday (day, client_id, service, method, provider,
                                              country, status, channel, calls, cost, revenue)
                SELECT d::date, c, 'currency', m, p, 'DE', 'succeeded', 'http', 3, 0.0030,
                       0.0300
                FROM generate_series(%s::date, %s::date, interval '1 day') AS d,
                     unnest(%s::bigint[]) AS c,
                     unnest(ARRAY['latest_rates', 'convert']) AS m,
                     unnest(ARRAY['fixer', 'openexchangerates']) AS p
                ORDER BY 1
                """,
                [FIRST_DAY, LAST_DAY, ids],
            )
            cursor.execute("ANALYZE ledger_ledgerday")
        assert LedgerDay.objects.count() == CLIENTS * DAYS * COMBOS
        yield ids
        transaction.set_rollback(True)
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        # ANALYZE's statistics outlive the rollback: leave the tables' as they are again
        cursor.execute("ANALYZE ledger_ledgerday")
        cursor.execute("ANALYZE ledger_ledgermonth")


def rows_read(sql: str) -> dict[str, int]:
    """Rows each table's scans returned when the statement ran (EXPLAIN ANALYZE), and any
    sequential scan of the daily level as 'Seq Scan'."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        ((plan,),) = cursor.fetchall()
    if isinstance(plan, str):
        plan = json.loads(plan)
    read: dict[str, int] = {}

    def walk(node: dict[str, Any]) -> None:
        table = node.get("Relation Name")
        if table and "Scan" in node["Node Type"]:
            rows = node["Actual Rows"] * node["Actual Loops"]
            read[table] = read.get(table, 0) + rows
            if node["Node Type"].endswith("Seq Scan") and table == "ledger_ledgerday":
                read["Seq Scan"] = read.get("Seq Scan", 0) + 1
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return read


def rollup_statement(group_by: list[str]) -> tuple[str, list[Any]]:
    with CaptureQueriesContext(connection) as queries:
        lines = ledger_summary(group_by=group_by, filters=ALL_TIME)
    (sql,) = [q["sql"] for q in queries.captured_queries if '"ledger_ledgerday"' in q["sql"]]
    return sql, lines


def test_all_time_by_client_reads_a_bucket_per_client_and_month_and_the_open_days(
    year_of_days,
):
    # given the closed months (December 2025 to November 2026) built
    assert len(ledger_months_close(now=datetime(2026, 12, 3, tzinfo=UTC))) == 12

    # when
    sql, lines = rollup_statement(["client"])

    # then the monthly level's client grain, and December's five days; no scan of the rest
    read = rows_read(sql)
    assert read.get("ledger_ledgermonth") == CLIENTS * 12
    assert read.get("ledger_ledgerday") == CLIENTS * 5 * COMBOS
    assert "Seq Scan" not in read
    assert {line.calls for line in lines} == {3 * COMBOS * DAYS}


def test_all_time_by_provider_reads_the_grain_without_clients(year_of_days):
    ledger_months_close(now=datetime(2026, 12, 3, tzinfo=UTC))

    sql, lines = rollup_statement(["provider"])

    read = rows_read(sql)
    assert read.get("ledger_ledgermonth") == 12 * COMBOS  # per month, method and provider
    assert read.get("ledger_ledgerday") == CLIENTS * 5 * COMBOS
    assert {line.calls for line in lines} == {3 * 2 * DAYS * CLIENTS}


def test_without_built_months_the_same_summary_reads_every_day(year_of_days):
    # given no month built (before the beat task's first run)
    assert not LedgerMonthClosed.objects.exists()

    # when
    sql, lines = rollup_statement(["client"])

    # then every daily bucket is read: what the monthly level saves
    assert rows_read(sql).get("ledger_ledgerday") == CLIENTS * DAYS * COMBOS
    assert {line.calls for line in lines} == {3 * COMBOS * DAYS}
