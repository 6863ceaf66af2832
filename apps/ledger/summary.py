"""The finance summary: calls, cost, revenue and margin per group, for any range.

Whole accounting days are read from the rollup: the closed months inside the range from its
monthly level (LedgerMonth, apps.ledger.months), the other days from its daily level
(LedgerDay: thousands of buckets instead of millions of rows), both in one statement. The
partial days at either end of a range, and any filter the rollup does not hold (kind,
request id, API key), are summed from the rows, and the parts merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.money import ZERO
from apps.ledger.accounting import accounting_day, accounting_tz
from apps.ledger.buckets import BUCKET_SUMS
from apps.ledger.filters import LedgerFilters
from apps.ledger.models import LedgerDay, LedgerEntry
from apps.ledger.month_models import LedgerMonth
from apps.ledger.months import DaySpan, grain_for, rollup_spans
from apps.ledger.rollup import ROLLED_UP_KINDS

SUMMARY_GROUPS = ("provider", "client", "service", "method", "day", "country")


@dataclass(frozen=True)
class SummaryLine:
    group: dict[str, str]
    calls: int
    cost: Decimal
    revenue: Decimal

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost


def ledger_summary(*, group_by: list[str], filters: LedgerFilters) -> list[SummaryLine]:
    """Calls, cost, revenue and margin per group (see docs/finance.md for the definitions);
    with no `group_by`, one line of totals.

    Calls are charge rows; cost is what the serving providers cost us; revenue is what
    clients were charged (prices of charges minus refunds).
    """
    unknown = set(group_by) - set(SUMMARY_GROUPS)
    if unknown:
        raise ValueError(f"cannot group by {', '.join(sorted(unknown))}")
    resolved = filters.resolved()
    totals: dict[tuple[str, ...], list[Any]] = {}
    if resolved is not None:
        whole_days, edges = split_by_days(resolved)
        parts = [_from_rows(edge, group_by) for edge in edges]
        if whole_days is not None:
            parts.append(_from_rollup(whole_days, group_by))
        for part in parts:
            for key, calls, cost, revenue in part:
                line = totals.setdefault(key, [0, ZERO, ZERO])
                line[0] += calls
                line[1] += cost
                line[2] += revenue
    if not group_by and not totals:
        totals[()] = [0, ZERO, ZERO]
    return [
        SummaryLine(
            group=dict(zip(group_by, key, strict=True)), calls=calls, cost=cost, revenue=revenue
        )
        for key, (calls, cost, revenue) in sorted(totals.items())
    ]


def split_by_days(filters: LedgerFilters) -> tuple[LedgerFilters | None, list[LedgerFilters]]:
    """The range's whole accounting days (for the rollup, None if there are none or the
    rollup cannot answer these filters) and the partial days at its ends (for the rows)."""
    if filters.kind or filters.request_id or filters.api_key_id is not None:
        return None, [filters]
    after, before = filters.created_after, filters.created_before
    first = _next_midnight(after) if after is not None else None
    last = _midnight_before(before) if before is not None else None
    if first is not None and last is not None and first >= last:
        return None, [filters]
    edges = []
    if after is not None and first is not None and after < first:
        edges.append(replace(filters, created_before=first))
    if before is not None and last is not None and last < before:
        edges.append(replace(filters, created_after=last))
    return replace(filters, created_after=first, created_before=last), edges


def _midnight_before(moment: datetime) -> datetime:
    """The accounting midnight at or before `moment`."""
    tz = accounting_tz()
    return datetime.combine(timezone.localtime(moment, tz).date(), time(), tzinfo=tz)


def _next_midnight(moment: datetime) -> datetime:
    """The accounting midnight at or after `moment`."""
    midnight = _midnight_before(moment)
    if midnight == moment:
        return midnight
    tz = accounting_tz()
    return datetime.combine(midnight.date() + timedelta(days=1), time(), tzinfo=tz)


Part = Iterable[tuple[tuple[str, ...], int, Decimal, Decimal]]


def _from_rollup(filters: LedgerFilters, group_by: list[str]) -> Part:
    """The range's whole days: its built months from the monthly level (at the smallest grain
    that holds the groups and filters), its other days from the daily one; one statement
    after one small query for the built months (none for a range shorter than a month)."""
    first = accounting_day(filters.created_after) if filters.created_after else None
    last = accounting_day(filters.created_before) if filters.created_before else None
    unbounded = replace(filters, created_after=None, created_before=None)
    if "day" in group_by:  # the monthly level has no days
        months: list[tuple[date, date]] = []
        day_spans: list[DaySpan] = [(first, last)]
    else:
        spans = rollup_spans(first, last)
        months, day_spans = spans.months, spans.days
    # One branch per span, each a plain range of its table's index on the month or the day
    # (two ranges ORed would be read by a scan of the whole table).
    parts = [
        _grouped(
            unbounded.apply(LedgerDay.objects.filter(_within("day", span)), rollup=True),
            group_by,
            BUCKET_SUMS,
        )
        for span in day_spans
    ]
    if months:
        grain = grain_for(_dimensions(filters, group_by))
        parts += [
            _grouped(
                unbounded.apply(
                    LedgerMonth.objects.filter(_within("month", span), grain=grain), rollup=True
                ),
                group_by,
                BUCKET_SUMS,
            )
            for span in months
        ]
    return _lines(parts[0].union(*parts[1:], all=True), group_by)


def _dimensions(filters: LedgerFilters, group_by: list[str]) -> set[str]:
    """The LedgerMonth fields that the groups and the filters read."""
    needed = {"client_id" if name == "client" else name for name in group_by}
    needed |= {
        name
        for name in ("service", "method", "provider", "status", "channel")
        if getattr(filters, name)
    }
    if filters.method:  # a full key ("currency.convert") compares the service too
        needed.add("service")
    if filters.client_id is not None:
        needed.add("client_id")
    return needed


def _within(field: str, span: tuple[date | None, date | None]) -> Q:
    """`field` in the span [first, last) (None: unbounded)."""
    first, last = span
    q = Q()
    if first is not None:
        q &= Q(**{f"{field}__gte": first})
    if last is not None:
        q &= Q(**{f"{field}__lt": last})
    return q


def _from_rows(filters: LedgerFilters, group_by: list[str]) -> Part:
    source = filters.apply(LedgerEntry.objects.filter(kind__in=ROLLED_UP_KINDS))
    charges = Q(kind=LedgerEntry.Kind.CHARGE)
    aggregates = {
        "n_calls": Count("id", filter=charges),
        "sum_cost": Sum("cost", filter=charges, default=ZERO),
        "sum_revenue": -Sum("amount", default=ZERO),
    }
    day = TruncDate("created_at", tzinfo=accounting_tz())
    return _lines(_grouped(source, group_by, aggregates, day=day), group_by)


def _grouped(
    source: QuerySet[Any], group_by: list[str], aggregates: dict[str, Any], day: Any = None
) -> QuerySet[Any]:
    """The sums per group, as a query of values (another part's can be its UNION ALL)."""
    columns = {
        "provider": F("provider"),
        "client": F("client__slug"),
        "service": F("service"),
        "method": F("method"),
        "day": day if day is not None else F("day"),
        "country": F("country"),
    }
    # No group: one line of totals (a constant is not grouped by, so no GROUP BY at all).
    keys = {f"g_{name}": columns[name] for name in group_by} or {"g_totals": Value("")}
    return source.order_by().annotate(**keys).values(*keys).annotate(**aggregates)


def _lines(rows: QuerySet[Any], group_by: list[str]) -> Part:
    keys = [f"g_{name}" for name in group_by]
    return [
        (
            tuple(str(row[key]) for key in keys),
            row["n_calls"],
            row["sum_cost"],
            row["sum_revenue"],
        )
        for row in rows
    ]
