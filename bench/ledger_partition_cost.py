"""The ledger at scale (issue #15): the call path's insert cost and the one-month summary.

    DATABASE_URL=... .venv/bin/python bench/ledger_partition_cost.py [--calls 2000]
        [--month 2026-11] [--tries 5]

Inserts: --calls settles of a call (its ledger row, its day's bucket and the balance: the
one statement of apps.ledger.services.ledger_record_call), each timed, all in ONE transaction
rolled back at the end, so the database is left as it was (no commit is timed: this is the
statement's own cost, which is what the table's size and shape change). Summaries: the
finance summary of one accounting month (apps.ledger.summary.ledger_summary), timed in process
(median of --tries after one warm-up), three ways: the whole month (daily rollup), the month
off day boundaries (rollup plus the rows of the two partial days) and the month narrowed to
kind=charge (rows only: the one a partitioned table can prune).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import Client  # noqa: E402
from apps.billing.models import Plan  # noqa: E402
from apps.ledger.partitions import is_partitioned, month_start, next_month  # noqa: E402
from apps.ledger.selectors import LedgerFilters  # noqa: E402
from apps.ledger.services import ledger_record_call  # noqa: E402
from apps.ledger.summary import ledger_summary  # noqa: E402


def inserts(calls: int) -> list[float]:
    timings = []
    with transaction.atomic():
        plan = Plan.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="bench")
        client = Client.objects.create(
            slug=f"bench-{uuid.uuid4().hex[:8]}", name="bench", plan=plan, country="DE"
        )
        for n in range(calls):
            started = time.perf_counter()
            ledger_record_call(
                hold=None,
                request_id=f"bench-{n}-{uuid.uuid4().hex}",
                client=client,
                service="currency",
                method="latest_rates",
                provider="fixer",
                status="succeeded",
                http_status=200,
                cost=Decimal("0.0010"),
                price=Decimal("0.0100"),
                currency="USD",
                country="DE",
                created_at=timezone.now(),
            )
            timings.append(time.perf_counter() - started)
        transaction.set_rollback(True)
    return timings


def summary(filters: LedgerFilters, group_by: list[str], tries: int) -> tuple[float, int]:
    ledger_summary(group_by=group_by, filters=filters)  # warm-up
    timings = []
    for _ in range(tries):
        started = time.perf_counter()
        lines = ledger_summary(group_by=group_by, filters=filters)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--month", default="2026-11")
    parser.add_argument("--tries", type=int, default=5)
    args = parser.parse_args()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_ledgerentry")
        (rows,) = cursor.fetchone()
    shape = "partitioned" if is_partitioned() else "one table"
    print(f"{connection.settings_dict['NAME']}: {rows:,} ledger rows, {shape}")
    timings = sorted(inserts(args.calls))
    median = statistics.median(timings)
    print(
        f"insert (settle statement) x{args.calls}: median {median * 1e3:.2f} ms,"
        f" p90 {timings[int(len(timings) * 0.9)] * 1e3:.2f} ms,"
        f" p99 {timings[int(len(timings) * 0.99)] * 1e3:.2f} ms,"
        f" mean {statistics.fmean(timings) * 1e3:.2f} ms"
    )
    year, month = (int(part) for part in args.month.split("-"))
    first = date(year, month, 1)
    start, end = month_start(first), month_start(next_month(first))
    whole = LedgerFilters(created_after=start, created_before=end)
    off = LedgerFilters(
        created_after=start + timedelta(hours=7), created_before=end + timedelta(hours=7)
    )
    charges = LedgerFilters(created_after=start, created_before=end, kind="charge")
    for name, filters, group_by in (
        ("month, totals", whole, []),
        ("month by provider,day", whole, ["provider", "day"]),
        ("month off day boundaries by provider", off, ["provider"]),
        ("month, kind=charge (rows only) by provider", charges, ["provider"]),
    ):
        ms, lines = summary(filters, group_by, args.tries)
        print(f"summary {args.month} {name}: median {ms:.0f} ms ({lines} lines)")


if __name__ == "__main__":
    main()
