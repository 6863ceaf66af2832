"""The monthly level of the rollup (LedgerMonth): closed months summed once, read by summaries.

A summary of whole days used to read one LedgerDay row per day, client, method, provider,
country, status and channel: over all time, millions of them. A month that is closed never
changes again, so its days are summed once more into LedgerMonth, at three grains (see the
model), and a summary reads those for every closed month inside its range, the daily level
only for the days around them (the open month, a range's first and last partial months).

When a month closes: every ledger row is written at the time of its write. The call path's
statement, a pending settle written after the database came back, the dangling-hold release
and staff bookings (a late refund included) all take `timezone.now()` when they build the
row, and the daily bucket is the accounting day of that time. So once a month is over, no
new row can add to its days. MONTH_CLOSES_AFTER leaves a day for a node whose clock is behind
and for a transaction that began before midnight. Writing rows into the past is for the
generator and the rebuild alone, and both rebuild this level after (ledger_months_rebuild).

Built by the beat task `ledger.close_months` (apps.ledger.tasks), by migration ledger 0015 for
the months already closed, and again by `manage.py ledger_rollup_rebuild`; never on a call's
path. Until a month is built (LedgerMonthClosed), summaries read its days: slower, never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.ledger.accounting import DIMENSIONS, accounting_day
from apps.ledger.buckets import BUCKET_SUMS, SUMMED, buckets_insert
from apps.ledger.models import LedgerDay
from apps.ledger.month_models import LedgerMonth, LedgerMonthClosed

MONTH_CLOSES_AFTER = timedelta(days=1)

Grain = LedgerMonth.Grain
MONTH_DIMENSIONS = DIMENSIONS[1:]  # the daily level's, without the day
# Smallest first: a summary reads the first one that holds every dimension it needs.
GRAIN_DIMENSIONS: dict[str, tuple[str, ...]] = {
    Grain.CLIENT: ("client_id",),
    Grain.ALL_BUT_CLIENT: tuple(name for name in MONTH_DIMENSIONS if name != "client_id"),
    Grain.ALL: MONTH_DIMENSIONS,
}


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_after(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def first_open_month(now: datetime | None = None) -> date:
    """The first accounting month a ledger row may still be written into."""
    return month_of(accounting_day((now or timezone.now()) - MONTH_CLOSES_AFTER))


def grain_for(dimensions: set[str]) -> str:
    """The smallest grain holding every one of `dimensions` (LedgerMonth field names)."""
    for grain, kept in GRAIN_DIMENSIONS.items():
        if dimensions <= set(kept):
            return grain
    raise ValueError(f"no grain holds {', '.join(sorted(dimensions))}")


DaySpan = tuple[date | None, date | None]  # [first, last) of days; None: unbounded


@dataclass(frozen=True)
class RollupSpans:
    """How whole days are read: `months` ([first, last) runs of built months) from the
    monthly level, `days` from the daily one."""

    months: list[tuple[date, date]]
    days: list[DaySpan]


def rollup_spans(first: date | None, last: date | None) -> RollupSpans:
    """The built months inside the days [first, last), and the days around them.

    One small query (LedgerMonthClosed), none when the range holds no whole month.
    """
    lowest = None if first is None else first if first.day == 1 else month_after(month_of(first))
    beyond = None if last is None else month_of(last)  # a whole month ends by `last`
    if lowest is not None and beyond is not None and lowest >= beyond:
        return RollupSpans(months=[], days=[(first, last)])
    built = LedgerMonthClosed.objects.order_by("month")
    if lowest is not None:
        built = built.filter(month__gte=lowest)
    if beyond is not None:
        built = built.filter(month__lt=beyond)
    runs: list[tuple[date, date]] = []
    for month in built.values_list("month", flat=True):
        if runs and runs[-1][1] == month:
            runs[-1] = (runs[-1][0], month_after(month))
        else:
            runs.append((month, month_after(month)))
    days: list[DaySpan] = []
    cursor = first
    for start, end in runs:
        if cursor is None or cursor < start:
            days.append((cursor, start))
        cursor = end
    if not runs or last is None or (cursor is not None and cursor < last):
        days.append((cursor, last))
    return RollupSpans(months=runs, days=days)


# --- Building ---------------------------------------------------------------------------------


def ledger_months_close(*, now: datetime | None = None) -> list[date]:
    """Build the monthly level of every closed month not built yet; returns those built."""
    return months_close(days=LedgerDay, months=LedgerMonth, closed=LedgerMonthClosed, now=now)


@transaction.atomic
def ledger_months_rebuild(*, now: datetime | None = None) -> int:
    """Forget the monthly level and build it again from the days; returns its buckets."""
    return months_rebuild(days=LedgerDay, months=LedgerMonth, closed=LedgerMonthClosed, now=now)


def months_rebuild(
    *,
    days: type[models.Model],
    months: type[models.Model],
    closed: type[models.Model],
    now: datetime | None = None,
) -> int:
    """The rebuild, with the models given (a migration passes its historical ones)."""
    if connection.vendor == "postgresql":
        # A closing run meanwhile (beat) waits for the rebuild, or the rebuild for it: never
        # a month built from the days as they were before the rebuild.
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(closed._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    closed._default_manager.all().delete()
    months._default_manager.all().delete()
    months_close(days=days, months=months, closed=closed, now=now)
    return months._default_manager.count()


def months_close(
    *,
    days: type[models.Model],
    months: type[models.Model],
    closed: type[models.Model],
    now: datetime | None = None,
) -> list[date]:
    """The closing, with the models given (a migration passes its historical ones)."""
    first_day = days._default_manager.order_by("day").values_list("day", flat=True).first()
    if first_day is None:
        return []
    open_month = first_open_month(now)
    done = set(closed._default_manager.values_list("month", flat=True))
    built = []
    month = month_of(first_day)
    while month < open_month:
        if month not in done and _month_build(month, days=days, months=months, closed=closed):
            built.append(month)
        month = month_after(month)
    if built and connection.vendor == "postgresql":
        # The new buckets' statistics now, not when autovacuum gets round to it: without them
        # the planner takes a month's hundreds of thousands of buckets for a handful.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(months._meta.db_table)}")
    return built


@transaction.atomic
def _month_build(
    month: date,
    *,
    days: type[models.Model],
    months: type[models.Model],
    closed: type[models.Model],
) -> bool:
    """One month at every grain, with its marker, in one transaction; False if another
    process built it meanwhile (the marker is unique: the second waits, then finds it)."""
    marker, created = closed._default_manager.get_or_create(month=month)
    if not created:
        return False
    months._default_manager.filter(month=month).delete()
    source = days._default_manager.filter(day__gte=month, day__lt=month_after(month)).order_by()
    buckets = sum(
        _grain_insert(source, month=month, grain=grain, months=months) for grain in GRAIN_DIMENSIONS
    )
    closed._default_manager.filter(pk=marker.pk).update(buckets=buckets)
    return True


def _grain_insert(
    source: QuerySet[Any], *, month: date, grain: str, months: type[models.Model]
) -> int:
    kept = GRAIN_DIMENSIONS[grain]
    blank = {name: None if name == "client_id" else "" for name in MONTH_DIMENSIONS}
    return buckets_insert(
        model=months,
        buckets=source.values(*kept).annotate(**BUCKET_SUMS),
        columns={name: name for name in kept} | SUMMED,
        fixed={"month": month, "grain": grain} | {n: v for n, v in blank.items() if n not in kept},
    )
