"""The plans of the finance reads, pinned on a skewed ledger (issue #18): each read goes
through the index meant for it, and none walks the whole ledger in time order or reads it
all (a Seq Scan), as the first page of a small client's rows once did.

The rows are written by PostgreSQL (tests/ledger/scale.py) and ANALYZEd, so the planner
sees the statistics a real ledger has; no planner setting is changed.
"""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet

from apps.accounts.models import Client
from apps.ledger.models import LedgerEntry
from apps.ledger.rollup import ROLLED_UP_KINDS
from apps.ledger.selectors import LedgerFilters, ledger_rows, ledger_usage_rows
from apps.ledger.summary import split_by_days
from tests.ledger.scale import SkewedLedger, generate_skewed_ledger

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")

ROWS = 100_000


@pytest.fixture(scope="module")
def ledger(django_db_setup: None, django_db_blocker: Any) -> Iterator[SkewedLedger]:
    """One skewed ledger for the module, rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        ledger = generate_skewed_ledger(rows=ROWS)
        with connection.cursor() as cursor:
            # check the rows' foreign keys once here, not again at the end of every test
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield ledger
        transaction.set_rollback(True)
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        # ANALYZE's row estimates outlive the rollback: leave the tables' as they are again
        cursor.execute("ANALYZE ledger_ledgerentry")
        cursor.execute("ANALYZE ledger_ledgerday")


def scans(queryset: QuerySet[Any]) -> list[tuple[str, str, str]]:
    """(node type, table, index) of every scan in the query's plan; the table is its alias
    in the query (a join of the ledger to itself, for `reverses`, is another alias)."""
    (plan,) = json.loads(queryset.explain(format="json"))
    found = []

    def walk(node: dict[str, Any], alias: str = "") -> None:
        # a Bitmap Index Scan names its index, and the Bitmap Heap Scan above it the table
        alias = node.get("Alias", alias)
        if "Scan" in node["Node Type"] and not _empty_partition(node.get("Relation Name", "")):
            found.append((node["Node Type"], alias, node.get("Index Name", "")))
        for child in node.get("Plans", []):
            walk(child, alias if node["Node Type"].startswith("Bitmap") else "")

    walk(plan["Plan"])
    return [(kind, *_ledger_names(alias, index)) for kind, alias, index in found]


def _empty_partition(relation: str) -> bool:
    """A month partition of a handful of rows at most (the months made ahead; the two rows
    this ledger has in December): how it is read is the planner's free choice, never a walk
    of the ledger (and rows other tests rolled back leave their pages in it)."""
    if not re.fullmatch(r"ledger_ledgerentry_(p\d{4}_\d{2}|default)", relation):
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) < 100 FROM (SELECT 1 FROM {relation} LIMIT 100) AS r")  # noqa: S608
        return cursor.fetchone()[0]


def _ledger_names(alias: str, index: str) -> tuple[str, str]:
    """A month partition's scan (apps.ledger.partitions) as the ledger's own: its alias
    without the partition's number, its index as the ledger's partitioned index."""
    if re.fullmatch(r"ledger_ledgerentry_\d+", alias):
        alias = "ledger_ledgerentry"
    if index:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE i.inhrelid = to_regclass(%s)",
                [index],
            )
            row = cursor.fetchone()
        index = row[0] if row else index
    return alias, index


def ledger_indexes_used(queryset: QuerySet[Any]) -> set[str]:
    used = scans(queryset)
    assert not [s for s in used if s[0] == "Seq Scan" and s[1] == "ledger_ledgerentry"], used
    return {index for _, table, index in used if table == "ledger_ledgerentry" and index}


def slug(client_id: int) -> str:
    return Client.objects.get(pk=client_id).slug


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "filters", "index"),
    [
        ("tiny", {}, "ledger_by_client"),
        ("empty", {}, "ledger_by_client"),
        # a third of all rows: walking them all by time finds a page as quickly
        ("big", {}, "ledger_by_client|ledger_by_time"),
        ("medium", {}, "ledger_by_client"),
        # a small client with another filter: its own index, not an intersection
        ("tiny", {"method": "sms.send"}, "ledger_by_client"),
        ("tiny", {"status": "failed"}, "ledger_by_client"),
        ("tiny", {"channel": "webhook"}, "ledger_by_client"),
        ("medium", {"provider": "fixer"}, "ledger_by_client"),
        (None, {"provider": "weasyprint"}, "ledger_by_provider"),
        (None, {"method": "docs.html_to_pdf"}, "ledger_by_method"),
        (None, {"status": "unknown"}, "ledger_by_status"),
        # a provider's failures: one range, even where the two never meet (most failures are
        # fixer's: walking the failures by time finds its page as quickly)
        (
            None,
            {"provider": "fixer", "status": "failed"},
            "ledger_provider_failures|ledger_by_status",
        ),
        (None, {"provider": "weasyprint", "status": "unknown"}, "ledger_provider_failures"),
        (None, {"provider": "nobody", "status": "failed"}, "ledger_provider_failures"),
        (None, {"channel": "webhook"}, "ledger_by_channel"),
        (None, {"kind": "refund"}, "ledger_by_kind"),
        (None, {"request_id": "gen-m-500"}, "ledger_request_id"),
        (None, {}, "ledger_by_time"),
    ],
)
def test_the_first_page_goes_through_the_index_of_its_filter(ledger, who, filters, index):
    # given
    if who is not None:
        client_id = getattr(ledger, who)[0]
        filters = {"client": slug(client_id), **filters}

    # when
    page = ledger_rows(filters=LedgerFilters(**filters))[:101]

    # then
    used = ledger_indexes_used(page)
    assert used and used <= set(index.split("|")), used


@pytest.mark.django_db
def test_a_big_client_with_a_rare_filter_is_read_through_an_index_of_either(ledger):
    big = slug(ledger.big[0])

    for filters in ({"status": "unknown"}, {"method": "docs.html_to_pdf"}):
        page = ledger_rows(filters=LedgerFilters(client=big, **filters))[:101]

        used = ledger_indexes_used(page)
        assert used and "ledger_by_time" not in used, (filters, used)


@pytest.mark.django_db
def test_usage_and_the_export_of_a_small_client_read_its_index(ledger):
    tiny = ledger.tiny[0]

    usage = ledger_usage_rows(client_id=tiny, filters=LedgerFilters(method="currency.convert"))
    export = LedgerFilters(client_id=tiny, status="failed").rows_of(LedgerEntry.objects.all())

    assert ledger_indexes_used(usage.order_by("-created_at", "-id")[:101]) == {"ledger_by_client"}
    assert ledger_indexes_used(export.order_by("created_at", "id")[:5000]) == {"ledger_by_client"}


@pytest.mark.django_db
def test_a_summary_reads_only_its_partial_days_from_rows_by_time(ledger):
    # given a range off day boundaries
    filters = LedgerFilters(
        created_after=datetime(2026, 9, 3, 6, tzinfo=UTC),
        created_before=datetime(2026, 9, 20, 18, 30, tzinfo=UTC),
    )

    # when
    whole, edges = split_by_days(filters)

    # then each edge, a part of one day, is read by a range of ledger_by_time
    assert whole is not None and len(edges) == 2
    for edge in edges:
        source = edge.apply(LedgerEntry.objects.filter(kind__in=ROLLED_UP_KINDS))
        assert ledger_indexes_used(source) == {"ledger_by_time"}
