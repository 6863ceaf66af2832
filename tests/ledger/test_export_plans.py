"""The plans of the export's statements on the partitioned ledger, as PostgreSQL ran them
(issue #18): each batch's key read and its COPY read one month's partition, run without JIT
or parallel workers, and look a refund's reversed row up only for a refund, not by joining
the ledger to itself.

At 20 M rows a batch's statements cost more, to the planner, than `jit_above_cost` and the
parallel thresholds, and compiling them took longer than reading their rows (the first row
of a small client's export: 344 ms; a month: 26k rows/s; docs/benchmarks.md). A test's
ledger is far smaller, so the thresholds are lowered here to where its statements cross
them, as the big ledger's do. The plans are the ones executed, COPY's included: auto_explain
sends each back to this connection as a notice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction

from apps.ledger.export import copy_chunks
from apps.ledger.filters import LedgerFilters
from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_reverse
from tests.ledger.scale import SkewedLedger, generate_skewed_ledger

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")

ROWS = 40_000
SEPTEMBER = LedgerFilters(
    created_after=datetime(2026, 9, 1, tzinfo=UTC), created_before=datetime(2026, 10, 1, tzinfo=UTC)
)
# The costs past which PostgreSQL compiles a statement or starts workers, lowered to zero.
BIG_LEDGER_COSTS = {
    "jit_above_cost": "0",
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
    "min_parallel_table_scan_size": "0",
    "min_parallel_index_scan_size": "0",
}


@pytest.fixture(scope="module")
def ledger(django_db_setup: None, django_db_blocker: Any) -> Iterator[SkewedLedger]:
    """One skewed ledger (a partition a month) for the module, rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        ledger = generate_skewed_ledger(rows=ROWS)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield ledger
        transaction.set_rollback(True)
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_ledgerentry")  # estimates outlive the rollback


@contextmanager
def executed_plans() -> Iterator[list[dict[str, Any]]]:
    """The plan of every statement this connection runs meanwhile, as a big ledger's
    statements are planned (BIG_LEDGER_COSTS); the test's transaction ends the settings."""
    plans: list[dict[str, Any]] = []

    def notice(diagnostic: Any) -> None:
        head, _, plan = (diagnostic.message_primary or "").partition("plan:")
        if head.startswith("duration:"):
            plans.append(json.loads(plan))

    settings = {
        **BIG_LEDGER_COSTS,
        "auto_explain.log_min_duration": "0",
        "auto_explain.log_format": "json",
        "auto_explain.log_level": "notice",
    }
    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        for name, value in settings.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
    raw = connection.connection
    assert raw is not None
    raw.add_notice_handler(notice)
    try:
        yield plans
    finally:
        raw.remove_notice_handler(notice)


def nodes(node: dict[str, Any], in_subplan: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every node of a plan, and whether it runs inside a SubPlan (per row that asks)."""
    in_subplan = in_subplan or node.get("Parent Relationship") == "SubPlan"
    yield node, in_subplan
    for child in node.get("Plans", []):
        yield from nodes(child, in_subplan)


def ledger_scans(plan: dict[str, Any], *, in_subplan: bool) -> set[str]:
    """The ledger partitions a plan reads, in its SubPlans or outside them."""
    return {
        node["Relation Name"]
        for node, sub in nodes(plan["Plan"])
        if sub == in_subplan and re.match(r"ledger_ledgerentry_", node.get("Relation Name", ""))
    }


def export(filters: LedgerFilters, batch_size: int) -> tuple[bytes, list[dict[str, Any]]]:
    """The export's CSV, and the plans of its statements that read the ledger."""
    with executed_plans() as plans:
        body = b"".join(copy_chunks(filters, batch_size=batch_size))
    return body, [p for p in plans if "ledger_ledgerentry" in p["Query Text"]]


def assert_small_statements(plans: list[dict[str, Any]]) -> None:
    for plan in plans:
        kinds = {node["Node Type"] for node, _ in nodes(plan["Plan"])}
        assert "JIT" not in plan, plan["Query Text"][:200]
        assert not kinds & {"Gather", "Gather Merge"}, (kinds, plan["Query Text"][:200])


@pytest.mark.django_db
def test_a_months_export_reads_that_months_partition_without_jit_or_workers(ledger):
    # given a refund in September, whose charge the export names in its `reverses` cell
    charge = SEPTEMBER.apply(LedgerEntry.objects.all()).earliest("created_at", "id")
    with time_machine.travel(datetime(2026, 9, 20, tzinfo=UTC), tick=False):
        refund = ledger_reverse(entry=charge, reason="outage", staff_user=None)
    in_september = SEPTEMBER.apply(LedgerEntry.objects.all()).count()

    # when
    body, plans = export(SEPTEMBER, batch_size=in_september // 3 + 1)

    # then every row, in 3 batches: a key read and a COPY each (the 3rd's key read finds
    # fewer rows than a batch: its COPY is open-ended)
    assert body.count(b"\r\n") == in_september + 1  # and the header
    line = next(line for line in body.split(b"\r\n") if f'"{refund.request_id}"'.encode() in line)
    assert f'"{charge.request_id}"'.encode() in line
    copies = [p for p in plans if p["Query Text"].startswith("COPY")]
    assert (len(plans), len(copies)) == (6, 3)
    assert_small_statements(plans)
    for plan in plans:
        assert ledger_scans(plan, in_subplan=False) == {"ledger_ledgerentry_p2026_09"}
    # a row's reversed row is looked up per row that has one, never joined for every row
    assert all(ledger_scans(p, in_subplan=True) for p in copies)


@pytest.mark.django_db
def test_a_small_clients_export_reads_its_index_without_jit_or_workers(ledger):
    # given a client with a handful of rows over four months, and no date range
    tiny = ledger.tiny[0]
    rows = LedgerEntry.objects.filter(client_id=tiny).count()

    # when
    body, plans = export(LedgerFilters(client_id=tiny), batch_size=5000)

    # then one key read (fewer rows than a batch) and one COPY, through the client's index
    assert body.count(b"\r\n") == rows + 1
    assert len(plans) == 2
    assert_small_statements(plans)
    for plan in plans:
        indexes = {
            node["Index Name"]
            for node, sub in nodes(plan["Plan"])
            if not sub and node.get("Index Name", "").startswith("ledger_ledgerentry_p")
        }
        assert indexes and all(re.search(r"client_id_created_at_id_idx$", i) for i in indexes)
