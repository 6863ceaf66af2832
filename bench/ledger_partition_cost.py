"""The ledger at scale (issue #15): the call path's insert cost and the one-month summary.

    DATABASE_URL=... .venv/bin/python bench/ledger_partition_cost.py [--calls 2000]
        [--month 2026-11] [--tries 5]

Inserts: --calls settles of a call (its ledger row, its day's bucket and the balance: the
one statement of apps.ledger.services.ledger_record_call), each timed, all in ONE transaction
rolled back at the end, so the database is left as it was (no commit is timed: this is the
statement's own cost, which is what the table's size and shape change). Summaries: the
finance summary of one accounting month (apps.ledger.summary.ledger_summary), timed in process
(median of --tries after one warm-up) when this database has every table it reads, and its
two sources timed apart: the daily rollup's month, and the month's rows (what a kind filter
needs; the one a partitioned table can prune to one partition).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

import django

django.setup()

from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.db.models import Count, Q, Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import Client  # noqa: E402
from apps.billing.models import Plan  # noqa: E402
from apps.ledger.models import LedgerDay, LedgerEntry  # noqa: E402
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


def timed(read: Callable[[], list[Any]], tries: int) -> tuple[float, int]:
    read()  # warm-up
    timings = []
    for _ in range(tries):
        started = time.perf_counter()
        lines = read()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, len(lines)


def month_reads(start: datetime, end: datetime) -> dict[str, Callable[[], list[Any]]]:
    """The one-month summary's two sources, as apps.ledger.summary reads them: the daily
    rollup for whole days, and the rows themselves (what a kind filter, a request id or an
    API key needs, and the partial days at a range's ends)."""
    charge = Q(kind="charge")
    rows = LedgerEntry.objects.filter(
        kind__in=("charge", "refund"), created_at__gte=start, created_at__lt=end
    ).order_by()
    days = LedgerDay.objects.filter(day__gte=start.date(), day__lt=end.date()).order_by()
    return {
        "rollup: month by provider,day": lambda: list(
            days.values("provider", "day").annotate(
                n=Sum("calls"), cost=Sum("cost"), revenue=Sum("revenue")
            )
        ),
        "rows: month by provider (kind=charge)": lambda: list(
            rows.filter(charge)
            .values("provider")
            .annotate(n=Count("id"), cost=Sum("cost"), revenue=-Sum("amount"))
        ),
        "rows: month, totals": lambda: [
            rows.aggregate(
                n=Count("id", filter=charge),
                cost=Sum("cost", filter=charge),
                revenue=-Sum("amount"),
            )
        ],
    }


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
    try:
        reads = {"ledger_summary: month by provider,day": lambda: summary(start, end)}
        reads["ledger_summary: month by provider,day"]()
    except DatabaseError as error:  # a later migration's table missing on this database
        print(f"ledger_summary not timed: {str(error).splitlines()[0]}")
        reads = {}
    reads |= month_reads(start, end)
    for name, read in reads.items():
        ms, lines = timed(read, args.tries)
        print(f"{args.month} {name}: median {ms:.0f} ms ({lines} lines)")


def summary(start: datetime, end: datetime) -> list[Any]:
    filters = LedgerFilters(created_after=start, created_before=end)
    return ledger_summary(group_by=["provider", "day"], filters=filters)


if __name__ == "__main__":
    main()
