"""Writing rollup buckets from an aggregate query: the daily level from the ledger rows
(apps.ledger.rollup) and the monthly level from the days (apps.ledger.months)."""

from __future__ import annotations

from typing import Any

from django.db import connection, models
from django.db.models import QuerySet, Sum

from apps.core.money import ZERO

# A bucket's sums, and the aggregates of buckets that give them (names distinct from the
# fields, which an annotation may not shadow).
SUMMED = {"calls": "n_calls", "cost": "sum_cost", "revenue": "sum_revenue"}
BUCKET_SUMS = {
    "n_calls": Sum("calls", default=0),
    "sum_cost": Sum("cost", default=ZERO),
    "sum_revenue": Sum("revenue", default=ZERO),
}
_BATCH = 5000


def buckets_insert(
    *,
    model: type[models.Model],
    buckets: QuerySet[Any],
    columns: dict[str, str],
    fixed: dict[str, Any],
) -> int:
    """One `model` row per row of `buckets` (a values() query): each field of `columns` from
    the query's column of that name, each of `fixed` the same in every row. Returns how many.

    On PostgreSQL the database writes them itself (INSERT … SELECT): no row goes through
    Python, so re-summing 5 million rows takes the time of one aggregate. Elsewhere they go
    through Python: SQLite sums decimals as floats, and the ORM's converters give them back
    their four places (an INSERT … SELECT would store the floats).
    """
    if connection.vendor != "postgresql":
        batch: list[models.Model] = []
        written = 0
        for bucket in buckets.iterator(chunk_size=_BATCH):
            batch.append(model(**fixed, **{name: bucket[of] for name, of in columns.items()}))
            if len(batch) >= _BATCH:
                written += len(model._default_manager.bulk_create(batch))
                batch = []
        return written + len(model._default_manager.bulk_create(batch))
    sql, params = buckets.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join((*fixed, *columns))
    picked = ", ".join((*(["%s"] * len(fixed)), *columns.values()))
    with connection.cursor() as cursor:
        cursor.execute(
            # Only our models' and queries' names are interpolated; values are parameters.
            f"INSERT INTO {table} ({names}) SELECT {picked} FROM ({sql}) AS buckets",  # noqa: S608
            [*fixed.values(), *params],
        )
        return cursor.rowcount
