"""The daily rollup (LedgerDay): kept current as rows are written, rebuilt on demand.

Each call or refund row adds itself to its day's bucket with one upsert in the transaction
that writes the row, so the rollup never disagrees with the committed rows. Top-ups and
adjustments are not summed: they move balances, not revenue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from apps.core.money import ZERO
from apps.ledger.accounting import DIMENSIONS, accounting_day, accounting_tz
from apps.ledger.buckets import SUMMED, buckets_insert
from apps.ledger.models import LedgerDay, LedgerEntry
from apps.ledger.months import ledger_months_rebuild

ROLLED_UP_KINDS = (LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REFUND)


def ledger_day_upsert_sql() -> str:
    """The statement adding one row to its day's bucket (parameters: ledger_day_upsert_params)."""
    table = connection.ops.quote_name(LedgerDay._meta.db_table)
    columns = ", ".join((*DIMENSIONS, "calls", "cost", "revenue"))
    placeholders = ", ".join(["%s"] * (len(DIMENSIONS) + 3))
    added = ", ".join(
        f"{name} = {table}.{name} + EXCLUDED.{name}" for name in ("calls", "cost", "revenue")
    )
    # Only identifiers of our own model are interpolated; every value is a parameter.
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(DIMENSIONS)}) DO UPDATE SET {added} RETURNING 1"
    )


def ledger_day_group_upsert_sql() -> str:
    """The statement adding many rows to their days' buckets: its parameters are one array
    per parameter of ledger_day_upsert_sql. Rows of the same bucket are summed first (an
    upsert may touch a row once), and buckets are written in the order of their key, so two
    groups written at once lock them in the same order."""
    table = connection.ops.quote_name(LedgerDay._meta.db_table)
    dimensions = ", ".join(DIMENSIONS)
    arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in _BUCKET_ARRAY_TYPES)
    added = ", ".join(
        f"{name} = {table}.{name} + EXCLUDED.{name}" for name in ("calls", "cost", "revenue")
    )
    return (
        f"INSERT INTO {table} ({dimensions}, calls, cost, revenue) "  # noqa: S608
        f"SELECT {dimensions}, sum(calls), sum(cost), sum(revenue) "
        f"FROM UNNEST({arrays}) AS added({dimensions}, calls, cost, revenue) "
        f"GROUP BY {dimensions} ORDER BY {dimensions} "
        f"ON CONFLICT ({dimensions}) DO UPDATE SET {added} RETURNING 1"
    )


# The SQL types of ledger_day_upsert_params, in order: the dimensions, calls, cost, revenue.
_BUCKET_ARRAY_TYPES = (
    "date", "bigint", "varchar", "varchar", "varchar", "varchar", "varchar", "varchar",
    "bigint", "numeric", "numeric",
)  # fmt: skip


def ledger_day_upsert_params(entry: LedgerEntry) -> list[Any]:
    calls = 1 if entry.kind == LedgerEntry.Kind.CHARGE else 0
    cost = entry.cost if entry.kind == LedgerEntry.Kind.CHARGE else ZERO
    return [
        accounting_day(entry.created_at),
        entry.client_id,
        entry.service,
        entry.method,
        entry.provider,
        entry.country,
        entry.status,
        entry.channel,
        calls,
        cost,
        -entry.amount,  # what the client paid: +price of a charge, -price of a refund
    ]


def ledger_day_add(*, entry: LedgerEntry) -> None:
    """Add one new row to its day's bucket: one statement, in the caller's transaction."""
    if entry.kind not in ROLLED_UP_KINDS:
        return
    with connection.cursor() as cursor:
        cursor.execute(ledger_day_upsert_sql(), ledger_day_upsert_params(entry))


@dataclass(frozen=True)
class RollupRebuilt:
    days: int  # LedgerDay buckets
    months: int  # LedgerMonth buckets, every grain


@transaction.atomic
def ledger_rollup_rebuild() -> RollupRebuilt:
    """Recompute the whole rollup from the ledger rows: the days, then the closed months from
    the days.

    Writers wait meanwhile (the ledger is locked against inserts), so no row is missed.
    """
    days = rollup_rebuild(entries=LedgerEntry, days=LedgerDay)
    return RollupRebuilt(days=days, months=ledger_months_rebuild())


def rollup_rebuild(*, entries: type[models.Model], days: type[models.Model]) -> int:
    """The rebuild, with the models given (a migration passes its historical ones).

    Days before the first row the ledger holds are kept: their rows were archived
    (`manage.py ledger_archive` keeps an archived month's rollup), and a ledger that never
    archived has no buckets there.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {entries._meta.db_table} IN SHARE MODE")
    rows = entries._default_manager.filter(kind__in=ROLLED_UP_KINDS)
    first = rows.order_by("created_at").values_list("created_at", flat=True).first()
    if first is None:
        return 0
    days._default_manager.filter(day__gte=accounting_day(first)).delete()
    charge = Q(kind=LedgerEntry.Kind.CHARGE)
    buckets = (
        rows.annotate(day=TruncDate("created_at", tzinfo=accounting_tz()))
        .order_by()
        .values(*DIMENSIONS)
        .annotate(
            n_calls=Count("id", filter=charge),
            sum_cost=Sum("cost", filter=charge, default=ZERO),
            sum_revenue=-Sum("amount", default=ZERO),  # what clients paid
        )
    )
    columns = {name: name for name in DIMENSIONS} | SUMMED
    return buckets_insert(model=days, buckets=buckets, columns=columns, fixed={})
